import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ruleInput, type RuleView } from '../src/contracts/alerting.js';
import { bootstrap } from '../src/domains/accounts/index.js';
import { reportConditions } from '../src/domains/alerting/index.js';
import type { RuleReport } from '../src/domains/rules/index.js';
import { RulesEvaluator } from '../src/domains/rules/evaluator.js';
import { createRule } from '../src/domains/rules/rules.js';
import { migrateToLatest, openStore, type Store } from '../src/platform/store/index.js';
import { ADMIN_TOKEN, STORE_KINDS, eventually, freshPostgresDatabase, startTestServer, storeAvailable, type TestServer } from './support/server.js';
import { addTrafficCounts } from './support/traffic.js';

// Late events and the log-traffic rules: an event that arrives after its second was evaluated (within
// the stream's allowed lateness) counts in every check still to run whose window holds it, and the
// checks already run stand — what `vigil monitor` does. Compared with the built CLI on the same log.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const HEADER = '"remotehost","rfc931","authuser","date","request","status","bytes"\n';

/** `n` access-log lines at second `t` (one client: one watermark source, as the console monitor has). */
const lines = (t: number, n: number, path = '/api/user') => `"10.0.0.1","-","apache",${t},"GET ${path} HTTP/1.0",200,100\n`.repeat(n);
const range = (from: number, to: number, perSecond: number) => Array.from({ length: to - from + 1 }, (_, i) => lines(from + i, perSecond)).join('');

/** `vigil monitor --json` on a file: its alerts and recoveries. */
async function monitorTransitions(log: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-late-'));
  try {
    const file = join(dir, 'access.log');
    writeFileSync(file, log);
    const child = spawn(process.execPath, [BIN, 'monitor', '--json', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    expect(code).toBe(0);
    return stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; time: number })
      .filter((d) => d.type !== 'stats')
      .map((d) => `${d.type} ${d.time}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Transitions (changes of `active`) of one rule, in the order reported. */
function transitions(reports: readonly RuleReport[], ruleId: string): string[] {
  let last = false;
  const out: string[] = [];
  for (const r of reports) {
    if (r.ruleId !== ruleId || r.active === last) continue;
    last = r.active;
    out.push(`${r.active ? 'alert' : 'recover'} ${r.at.getTime() / 1000}`);
  }
  return out;
}

beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error('test/rules-late.test.ts runs the built CLI (bin/vigil.js): run `npm run build` first');
});

describe.each(STORE_KINDS)('late events in log-traffic rules, replayed through ingest (%s)', (kind) => {
  let server: TestServer;
  const reports: RuleReport[] = [];
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(
      kind,
      { VIGIL_RULES_INTERVAL_MS: '200' },
      {
        ruleReports: async (trx, batch, now) => {
          reports.push(...batch);
          await reportConditions(trx, batch, now);
        },
      },
    );
  });
  afterAll(async () => server?.dispose());

  const post = async (csv: string) => {
    const res = await fetch(`${server.url}/api/v1/logs?format=csv`, { method: 'POST', headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'text/plain' }, body: HEADER + csv });
    expect(res.status, (await res.clone().text()).slice(0, 500)).toBe(200);
  };
  const position = async (): Promise<number> => {
    const row = await server.ctx.db.selectFrom('rule_evaluator').select('position').where('org_id', '=', server.org.id).executeTakeFirst();
    return row?.position ? Math.round(row.position.getTime() / 1000) : 0;
  };

  it.skipIf(!storeAvailable(kind))('the default rule fires at the second `vigil monitor` prints when late lines push a window over the threshold', async () => {
    const list = (await (await server.api('/api/v1/rules')).json()) as { rules: RuleView[] };
    const classic = list.rules.find((r) => r.is_default)!;
    // Two hours ago (ingest refuses events older than the hot retention), whole seconds.
    const B = Math.floor(Date.now() / 1000) - 7200;
    // 9 requests a second: 1,080 in the 2-minute window, under the threshold (> 1,200).
    const first = range(B + 1, B + 200, 9);
    // Then 200 lines for B+150…B+169, behind the watermark (B+195) but within the lateness (300 s),
    // and on at 9 a second up to B+400.
    const late = range(B + 150, B + 169, 10);
    const rest = range(B + 201, B + 400, 9);

    const expected = await monitorTransitions(HEADER + first + late + rest);
    // The reference: the check at B+195 (the first run after the late lines) holds them, those
    // before stand; without the late lines nothing fires at all.
    expect(expected).toEqual([`alert ${B + 195}`, `recover ${B + 277}`]);
    expect(await monitorTransitions(HEADER + first + rest)).toEqual([]);

    await post(first);
    // The evaluator has evaluated every final second (the watermark is B+195: seconds through B+194).
    await eventually(async () => (await position()) >= B + 194, 30_000);
    expect(await position()).toBe(B + 194);
    await post(late + rest);
    const got = await eventually(async () => ((await position()) >= B + 394 ? transitions(reports, classic.id) : undefined), 30_000);
    expect(got).toEqual(expected);
  });
});

describe.each(STORE_KINDS)('late events and a restart of the evaluator (%s)', (kind) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  // Two hours ago, at 3 s past a 10-second rollup's label (so the ranges checked have ragged edges).
  const T0 = Math.floor((Date.now() / 1000 - 7200) / 10) * 10 + 3;

  // With rollups, as the processor writes them; without, the checksum falls back to the seconds.
  it.skipIf(!storeAvailable(kind)).each([true, false])('late counts that arrived before a restart are in the rebuilt windows, and the ones after are revised in (rollups: %s)', async (rollups) => {
    const pgdb = kind === 'postgres' ? await freshPostgresDatabase() : undefined;
    const store: Store = await openStore({ untenanted: 'system', databaseUrl: pgdb?.url, dataDir: 'memory://', logger: pino({ level: 'silent' }) });
    cleanups.push(async () => {
      await store.close();
      await pgdb?.drop();
    });
    await migrateToLatest(store.db);
    const { id: orgId } = await bootstrap(store.db, { orgName: 'late' });
    await createRule(store.db, orgId, ruleInput.parse({ name: 'busy', metric: 'requests', window: '30s', op: '>', threshold: 31 }));
    const setWatermark = async (second: number) => {
      await store.db
        .insertInto('stream_progress')
        .values({ consumer: 'traffic', org_id: orgId, watermark: new Date(second * 1000), too_late: 0, updated_at: new Date() })
        .onConflict((oc) => oc.columns(['consumer', 'org_id']).doUpdateSet({ watermark: new Date(second * 1000) }))
        .execute();
    };
    const reports: RuleReport[] = [];
    const evaluator = () =>
      new RulesEvaluator({ db: store.db, logger: pino({ level: 'silent' }), report: async (_trx, batch) => void reports.push(...batch), idleGraceMs: 3_600_000, leaseMs: 0, now: () => (T0 + 100) * 1000 });
    const fired = () => {
      let last = false;
      const out: string[] = [];
      for (const r of reports) {
        if (r.ruleName !== 'busy' || r.active === last) continue;
        last = r.active;
        out.push(`${r.active ? 'fire' : 'clear'} ${r.at.getTime() / 1000 - T0}`);
      }
      return out;
    };
    /** Hits added at seconds after T0, as the processor writes them: 1-second rows and their 10-second rollups. */
    const add = async (hits: [second: number, n: number][]) => {
      const tens = new Map<number, number>();
      for (const [s, n] of hits) tens.set(Math.floor((T0 + s) / 10) * 10, (tens.get(Math.floor((T0 + s) / 10) * 10) ?? 0) + n);
      await addTrafficCounts(store.db, orgId, [
        ...hits.map(([s, n]) => ({ bucket: new Date((T0 + s) * 1000), resolution: 1, section: '/api', hits: n })),
        ...[...tens].filter(() => rollups).map(([label, n]) => ({ bucket: new Date(label * 1000), resolution: 10, section: '/api', hits: n })),
      ]);
    };

    // 1 hit a second from +1 to +60: 30 in every window, not > 31.
    await add(Array.from({ length: 60 }, (_, i) => [1 + i, 1]));
    await setWatermark(T0 + 31);
    const one = evaluator();
    await one.tick();
    expect(fired()).toEqual([]);
    // Evaluated through +30. Late: +8 gets 2 more hits (in a rollup wholly inside the seconds checked);
    // the checks still to run count them: the window at +31 (2…31) holds 32.
    await add([[8, 2]]);
    await setWatermark(T0 + 33);
    await one.tick();
    expect(fired()).toEqual(['fire 31']);
    // +9 gets 3 more, then a restart: the new process rebuilds its windows from the counts (late ones included).
    await add([[9, 3]]);
    const two = evaluator();
    await setWatermark(T0 + 34);
    await two.tick();
    // 5 late hits at +12 after the restart are revised in too: without them the window at +39 (10…39)
    // would hold 30 and clear there; with them it holds 35 until +12 leaves it: clear at +42.
    await add([[12, 5]]);
    await setWatermark(T0 + 70);
    await two.tick();
    expect(fired()).toEqual(['fire 31', 'clear 42']);
  });
});
