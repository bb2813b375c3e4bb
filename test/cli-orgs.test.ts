/**
 * `vigil org create|list|rename|remove` and `vigil user invite` as users run them (the built CLI,
 * bin/vigil.js), on the database directly: an embedded store directory and PostgreSQL. What they
 * make is then used by a server started on the same store: the invited user signs in to their
 * organisation.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startVigil } from '../src/server/runtime.js';
import { asSystem } from '../src/platform/store/index.js';
import { VIGIL_BIN } from './support/process.js';
import { invitationTokenIn, startMailSink } from './support/mail.js';
import { STORE_KINDS, freshPostgresDatabase, storeAvailable } from './support/server.js';

const BUILT = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error('test/cli-orgs.test.ts runs the built CLI (bin/vigil.js): run `npm run build` first');
});

describe.each(STORE_KINDS)('vigil org and vigil user on %s', (kind) => {
  let env: Record<string, string> = {};
  let cleanup = async () => {};
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    if (kind === 'postgres') {
      const pg = await freshPostgresDatabase();
      env = { DATABASE_URL: pg.url, VIGIL_DATA_DIR: '' };
      cleanup = pg.drop;
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-orgs-'));
      env = { DATABASE_URL: '', VIGIL_DATA_DIR: dir };
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    }
  });
  afterAll(async () => cleanup());
  const run = it.skipIf(!storeAvailable(kind));

  const vigil = (args: string[], stdin = '', extraEnv: Record<string, string> = {}): Promise<Result> => {
    const child = spawn(process.execPath, [VIGIL_BIN, ...args], {
      env: { ...process.env, NATS_URL: '', VIGIL_SMTP_URL: '', VIGIL_BASE_URL: 'https://vigil.example', ...env, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin.end(stdin);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  };

  // About fifteen CLI processes, each opening its own embedded store: over 60 s on a loaded 2-core CI machine once.
  run('creates and lists organisations, invites users, with exit codes, --json and errors on stderr', async () => {
    const created = await vigil(['org', 'create', 'Acme Logistics', '--json']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const org = JSON.parse(created.stdout) as { id: string; name: string };
    expect(org.name).toBe('Acme Logistics');
    const plain = await vigil(['org', 'create', 'Beta Freight']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^[0-9a-f-]{36}\tBeta Freight\n$/);

    const list = await vigil(['org', 'list', '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { orgs: { name: string }[] }).orgs.map((o) => o.name)).toEqual(['Acme Logistics', 'Beta Freight']);
    const table = await vigil(['org', 'list']);
    expect(table.stdout.trim().split('\n')).toEqual([`${org.id}\t0\tAcme Logistics`, expect.stringMatching(/\t0\tBeta Freight$/)]);

    // With an initial password read from stdin, by organisation name.
    const withPassword = await vigil(['user', 'invite', 'Ana@Acme.example', '--org', 'Acme Logistics', '--role', 'analyst', '--password', '-', '--json'], 'a long enough password\n');
    expect(withPassword).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(withPassword.stdout)).toMatchObject({ email: 'ana@acme.example', role: 'analyst', org: { id: org.id } });

    // An invitation by id: the link on stdout, a note on stderr that it was not e-mailed.
    const invited = await vigil(['user', 'invite', 'bob@acme.example', '--org', org.id, '--role', 'read-only']);
    expect(invited.code).toBe(0);
    expect(invited.stdout).toMatch(/^https:\/\/vigil\.example\/accept-invitation#token=[A-Za-z0-9_-]{20,}\n$/);
    expect(invited.stderr).toMatch(/not e-mailed: No SMTP server/);

    // With SMTP configured the link goes by e-mail (to a real SMTP peer), and only there.
    const mail = await startMailSink();
    try {
      const emailed = await vigil(['user', 'invite', 'cy@acme.example', '--org', org.id, '--json'], '', { VIGIL_SMTP_URL: mail.url });
      expect(emailed).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(emailed.stdout)).toMatchObject({ emailed: true, url: null, email: 'cy@acme.example', role: 'analyst' });
      const message = mail.messages.find((m) => m.to.includes('cy@acme.example'));
      expect(invitationTokenIn(message?.raw ?? '')).toBeTruthy();
    } finally {
      await mail.close();
    }

    // Usage errors: 2. Refusals of the store: 1. Each with one line on stderr and nothing on stdout.
    const badRole = await vigil(['user', 'invite', 'c@acme.example', '--org', org.id, '--role', 'owner']);
    expect(badRole).toMatchObject({ code: 2, stdout: '', stderr: 'vigil user invite: --role must be admin, analyst or read-only, not owner\n' });
    const argvPassword = await vigil(['user', 'invite', 'c@acme.example', '--org', org.id, '--password', 'hunter22']);
    expect(argvPassword.code).toBe(2);
    expect(argvPassword.stderr).toMatch(/--password takes only -/);
    const badEmail = await vigil(['user', 'invite', 'not-an-address', '--org', org.id]);
    expect(badEmail.code).toBe(2);
    const noOrg = await vigil(['user', 'invite', 'c@acme.example', '--org', 'Nowhere']);
    expect(noOrg).toMatchObject({ code: 1, stdout: '', stderr: 'vigil user invite: Organisation Nowhere not found\n' });
    const taken = await vigil(['user', 'invite', 'ana@acme.example', '--org', org.id, '--password', '-'], 'another long password\n');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already exists/);
    const missingOrg = await vigil(['user', 'invite', 'c@acme.example']);
    expect(missingOrg.code).not.toBe(0);
    expect(missingOrg.stderr).toMatch(/--org/);

    const renamed = await vigil(['org', 'rename', 'Beta Freight', 'Beta Cargo', '--json']);
    expect(JSON.parse(renamed.stdout)).toMatchObject({ name: 'Beta Cargo' });
    expect((await vigil(['org', 'remove', 'Beta Cargo'])).code).toBe(0);
    expect((await vigil(['org', 'remove', 'Beta Cargo'])).code).toBe(1);

    // A server on the same store: Ana signs in to Acme; the log names the CLI as the actor.
    const config = loadConfig({}, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
    const server = await startVigil(config, { logger: pino({ level: 'silent' }) });
    try {
      const login = await fetch(`${server.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ana@acme.example', password: 'a long enough password' }),
      });
      expect(login.status).toBe(201);
      const cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const me = (await (await fetch(`${server.url}/api/v1/me`, { headers: { cookie } })).json()) as { org: { id: string; name: string }; role: string };
      expect(me).toMatchObject({ org: { id: org.id, name: 'Acme Logistics' }, role: 'member' });
      // The whole log, as a platform administrator sees it (a real server denies work in no context).
      const actions = await asSystem('test: the whole admin log', () => server.ctx.db.selectFrom('admin_actions').select(['actor', 'action']).orderBy('id').execute());
      expect(actions.map((a: { action: string }) => a.action)).toEqual(['org.create', 'org.create', 'member.add', 'invitation.create', 'invitation.create', 'org.rename', 'org.remove']);
      expect(actions.every((a: { actor: string }) => a.actor.startsWith('cli:'))).toBe(true);
    } finally {
      await server.close();
    }
  }, 180_000);
});
