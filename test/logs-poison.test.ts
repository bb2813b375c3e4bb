import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { INGEST_PROTOCOLS, encodeBatch, poisonCases, type IngestProtocol, type PoisonRecord } from '../src/domains/logs/decoders/test-support.js';
import { DEPLOYMENTS, deploymentAvailable, eventually, startTestServer, type TestServer } from './support/server.js';

/**
 * Poison events of every kind, in every ingest protocol, sent by one organisation while another
 * sends good batches at the same moment (so both share the processor's batches): the good events of
 * both are stored and counted, each bad one is refused with its position and reason or kept cleaned,
 * and the refusals are listed for their own organisation only. On PGlite, PostgreSQL and with the
 * JetStream bus (where a poison event was a 500 at ingest).
 */

const NATS_URL = process.env.NATS_URL;


interface Rejected {
  rejections: { stage: string; protocol: string | null; index: number | null; line: number | null; path: string | null; reason: string; sample: string | null }[];
  next_before: string | null;
}

const good = (tag: string, i: number): PoisonRecord => ({ message: `${tag} good ${i}`, path: `/good/${i}`, status: 200, method: 'GET' });

describe.each(DEPLOYMENTS)('poison events on $name', (setup) => {
  let server: TestServer;
  let tenantKey: string;
  let tenantOrg: string;
  const stream = `VIGILPOISON_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    if (!deploymentAvailable(setup)) return;
    server = await startTestServer(setup.kind, setup.nats ? { NATS_URL: NATS_URL!, VIGIL_NATS_STREAM: stream } : {});
    const org = await createOrg(server.ctx.db, 'Other tenant');
    tenantOrg = org.id;
    tenantKey = (await createApiKey(server.ctx.db, org.id, 'agent', 'member')).key;
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
    if (setup.nats && NATS_URL) {
      const nc = await connect({ servers: NATS_URL });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });
  const run = it.skipIf(!deploymentAvailable(setup));

  const send = (protocol: IngestProtocol, records: PoisonRecord[], key?: string) => {
    const batch = encodeBatch(protocol, records, Date.now() - 2000);
    return server.api(batch.path, { method: 'POST', body: batch.body, headers: { 'content-type': batch.contentType }, ...(key ? { key } : {}) });
  };

  const stored = async (orgId: string, like: string): Promise<number> => {
    const row = await server.ctx.db.selectFrom('log_events').select(sql<string>`count(*)`.as('n')).where('org_id', '=', orgId).where('message', 'like', like).executeTakeFirstOrThrow();
    return Number(row.n);
  };
  const hits = async (orgId: string): Promise<number> => {
    const row = await server.ctx.db
      .selectFrom('traffic_counts')
      .select(sql<string>`coalesce(sum(hits), 0)`.as('n'))
      .where('org_id', '=', orgId)
      .where('resolution', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  run(
    'keeps every good event of both tenants, refuses or cleans each poison event, in every protocol',
    async () => {
      const cases = poisonCases('A');
      let expectedA = 0;
      let expectedHitsA = 0;
      for (const protocol of INGEST_PROTOCOLS) {
        // All at once: the processor takes them in shared batches.
        const responses = await Promise.all([
          ...cases.map((c, i) => send(protocol, [good(`A ${protocol} ${c.name}`, i), c.record, good(`A ${protocol} ${c.name}`, i + 100)])),
          ...cases.map((_, i) => send(protocol, [good(`B ${protocol}`, i), good(`B ${protocol}`, i + 100), good(`B ${protocol}`, i + 200)], tenantKey)),
        ]);
        const statuses = responses.map((r) => r.status);
        expect(statuses.every((s) => s >= 200 && s < 300), `${protocol}: ${statuses.join(',')}`).toBe(true);
        for (const [i, c] of cases.entries()) {
          const res = responses[i]!;
          const refused = c.refused ?? (protocol === 'otlp-protobuf' && c.name === 'invalid UTF-8' ? /utf-8/ : undefined);
          expectedA += refused ? 2 : 3;
          expectedHitsA += 2 + (!refused && (c.name === 'huge numbers' || c.name === 'long section') ? 1 : 0);
          if (protocol === 'native' || protocol === 'ndjson') {
            const body = (await res.json()) as { accepted: number; rejected: { index?: number; line?: number; reason: string }[] };
            expect(body.accepted, `${protocol} ${c.name}`).toBe(refused ? 2 : 3);
            if (refused) expect(body.rejected).toEqual([expect.objectContaining(protocol === 'ndjson' ? { line: 2 } : { index: 1 })]);
            if (refused) expect(body.rejected[0]!.reason).toMatch(refused);
          } else if (protocol === 'otlp-json' || protocol === 'otlp-protobuf') {
            const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
            if (refused && protocol === 'otlp-json') expect(JSON.parse(text)).toMatchObject({ partialSuccess: { rejectedLogRecords: '1' } });
            if (refused && protocol === 'otlp-protobuf') expect(text).toContain('logRecords[1]');
          }
        }
      }
      const totalB = INGEST_PROTOCOLS.length * cases.length * 3;
      // In process, a 2xx means stored; with JetStream, stored in the stream: the processor follows.
      await eventually(async () => (await stored(server.org.id, 'A %')) === expectedA && (await stored(tenantOrg, 'B %')) === totalB, 30_000);
      await eventually(async () => (await hits(server.org.id)) === expectedHitsA && (await hits(tenantOrg)) === totalB, 30_000);

      // Cleaned, never lost: NUL, lone surrogates and invalid bytes became U+FFFD.
      const nul = (await (await server.api('/api/v1/logs?q=nul%20a&limit=100')).json()) as { events: { message: string; attributes: Record<string, unknown> }[] };
      expect(nul.events).toHaveLength(INGEST_PROTOCOLS.length);
      for (const e of nul.events) expect(e.message).toMatch(/nul a\ufffdb$/);
      const proto = (await (await server.api('/api/v1/logs?q=A%20prototype%20keys&limit=100')).json()) as { events: { level: string | null; source: string | null }[] };
      expect(proto.events.map((e) => [e.level, e.source])).toEqual(INGEST_PROTOCOLS.map(() => ['constructor', '__proto__']));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();

      // Listed for their organisation, with position and reason; the other tenant sees none of them.
      const listed = (await (await server.api('/api/v1/logs/rejected?limit=500')).json()) as Rejected;
      const refusals = listed.rejections.filter((r) => r.stage === 'ingest');
      expect(refusals.length).toBe(INGEST_PROTOCOLS.length * 3 + 1);
      expect(refusals.some((r) => r.protocol === 'loki' && r.index === 1 && /deeper|depth/.test(r.reason) && r.path === 'streams[0].values[1]')).toBe(true);
      expect(refusals.some((r) => r.protocol === 'native' && r.line === 2 && /more than 10,000 keys/.test(r.reason))).toBe(true);
      expect(refusals.some((r) => r.protocol === 'datadog' && r.index === 1 && /over the limit of 1,048,576/.test(r.reason))).toBe(true);
      const other = (await (await server.api('/api/v1/logs/rejected', { key: tenantKey })).json()) as Rejected;
      expect(other.rejections).toEqual([]);
      expect((await server.api('/api/v1/logs/rejected', { key: null })).status).toBe(401);
    },
    180_000,
  );
});
