import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, startTestServer, storeAvailable, type TestServer } from './support/server.js';

// `vigil run` is tested as users run it: the built CLI in a child process, talking HTTP to a
// real Vigil server (or, for failure modes a real server does not produce on demand, to a
// small loopback HTTP server standing in for it).
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface CliRun {
  child: ChildProcess;
  done: Promise<Finished>;
  /** Resolves once the command's passed-through stdout contains `text`. */
  stdoutContains(text: string): Promise<void>;
}

function vigil(args: string[]): CliRun {
  const started = performance.now();
  const env = { ...process.env };
  delete env.VIGIL_URL; // every test names its server explicitly
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const w of waiters.filter((w) => stdout.includes(w.text))) w.resolve();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - started }));
  });
  return {
    child,
    done,
    stdoutContains: (text) =>
      stdout.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ text, resolve });
            void done.then((f) => reject(new Error(`vigil run ended (${f.code ?? f.signal}) before printing ${JSON.stringify(text)}; stderr: ${f.stderr}`)));
          }),
  };
}

beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error('test/run.test.ts runs the built CLI (bin/vigil.js): run `npm run build` first');
});

// ---------------------------------------------------------------------------------------------
// Against a real Vigil server, on every available store.

interface V3Ping {
  type: string;
  n: number;
  rid: string | null;
  exitstatus?: number;
  body_url: string | null;
}

for (const kind of STORE_KINDS) {
  describe.skipIf(!storeAvailable(kind))(`vigil run against a Vigil server (${kind})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(kind);
    });
    afterAll(async () => {
      await server?.dispose();
    });

    async function createCheck(name: string): Promise<string> {
      const res = await server.api('/api/v3/checks/', { method: 'POST', json: { name, timeout: 60, grace: 60 } });
      expect(res.status).toBe(201);
      const check = (await res.json()) as { uuid: string; ping_url: string };
      expect(check.ping_url).toBe(`${server.url}/ping/${check.uuid}`);
      return check.uuid;
    }

    async function pingsOf(uuid: string): Promise<V3Ping[]> {
      const res = await server.api(`/api/v3/checks/${uuid}/pings/`);
      expect(res.status).toBe(200);
      const { pings } = (await res.json()) as { pings: V3Ping[] };
      return [...pings].sort((a, b) => a.n - b.n);
    }

    async function bodyOf(ping: V3Ping): Promise<string> {
      expect(ping.body_url).toBeTruthy();
      const res = await server.api((ping.body_url ?? '').slice(server.url.length));
      expect(res.status).toBe(200);
      return res.text();
    }

    /** The start and exit pings of one `vigil run`: exactly two, sharing one fresh rid. */
    async function runPings(uuid: string): Promise<{ start: V3Ping; exit: V3Ping; body: string }> {
      const pings = await pingsOf(uuid);
      expect(pings).toHaveLength(2);
      const [start, exit] = pings as [V3Ping, V3Ping];
      expect(start.type).toBe('start');
      expect(start.rid).toMatch(UUID_RE);
      expect(exit.rid).toBe(start.rid);
      return { start, exit, body: await bodyOf(exit) };
    }

    it('sends start and the exit status with the output, paired by a fresh rid, and exits with the command status', async () => {
      const uuid = await createCheck('run-basic');
      const run = await vigil(['run', '--check', uuid, '--server', server.url, '--', 'sh', '-c', 'echo hello; echo oops >&2; exit 3']).done;
      expect(run.code).toBe(3);
      expect(run.stdout).toBe('hello\n'); // passed through unchanged, nothing added
      expect(run.stderr).toBe('oops\n');
      const { exit, body } = await runPings(uuid);
      expect(exit.type).toBe('fail');
      expect(exit.exitstatus).toBe(3);
      // Both streams are in the tail; their relative order is whatever order the pipes delivered.
      expect(body.split('\n').sort()).toEqual(['', 'hello', 'oops']);

      // A second run of the same check gets a new rid.
      const again = await vigil(['run', '--check', uuid, '--server', server.url, '--', 'true']).done;
      expect(again.code).toBe(0);
      const pings = await pingsOf(uuid);
      expect(pings).toHaveLength(4);
      expect(pings[2]?.rid).toMatch(UUID_RE);
      expect(pings[2]?.rid).not.toBe(exit.rid);
      expect(pings[3]?.type).toBe('success');
      expect(pings[3]?.rid).toBe(pings[2]?.rid);
    });

    it('sends only the end of an output larger than the tail limit', async () => {
      const uuid = await createCheck('run-tail');
      const run = await vigil(['run', '--check', uuid, '--server', server.url, '--tail-bytes', '1000', '--', 'seq', '1', '200000']).done;
      expect(run.code).toBe(0);
      const all = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join('');
      expect(run.stdout).toBe(all); // the whole output still reaches the terminal
      const { exit, body } = await runPings(uuid);
      expect(exit.type).toBe('success');
      expect(exit.exitstatus).toBe(0);
      expect(body).toBe(all.slice(-1000));
    });

    it('forwards SIGTERM to the command and reports the status its trap chose', async () => {
      const uuid = await createCheck('run-sigterm-trap');
      // The trap kills its own sleep so that no stray process holds the pipes open.
      const script = 'trap \'kill $p 2>/dev/null; echo "got TERM"; exit 42\' TERM; sleep 30 & p=$!; echo ready; wait';
      const run = vigil(['run', '--check', uuid, '--server', server.url, '--', 'sh', '-c', script]);
      await run.stdoutContains('ready');
      run.child.kill('SIGTERM');
      const result = await run.done;
      expect(result.signal).toBeNull();
      expect(result.code).toBe(42);
      expect(result.ms).toBeLessThan(15_000);
      const { exit, body } = await runPings(uuid);
      expect(exit.type).toBe('fail');
      expect(exit.exitstatus).toBe(42);
      expect(body).toBe('ready\ngot TERM\n');
    });

    it('reports 128+N and exits so when the command is killed by signal N', async () => {
      const uuid = await createCheck('run-sigterm-killed');
      const run = vigil(['run', '--check', uuid, '--server', server.url, '--', 'sh', '-c', 'echo ready; exec sleep 30']);
      await run.stdoutContains('ready');
      run.child.kill('SIGTERM');
      const result = await run.done;
      expect(result.code).toBe(143); // 128 + SIGTERM (15), as a shell reports it
      const { exit } = await runPings(uuid);
      expect(exit.type).toBe('fail');
      expect(exit.exitstatus).toBe(143);
    });

    it('reports 127 with the reason when the command does not exist', async () => {
      const uuid = await createCheck('run-enoent');
      const run = await vigil(['run', '--check', uuid, '--server', server.url, '--', 'vigil-no-such-command-xyz', '--flag']).done;
      expect(run.code).toBe(127);
      expect(run.stderr).toContain('cannot run "vigil-no-such-command-xyz": command not found');
      const { exit, body } = await runPings(uuid);
      expect(exit.type).toBe('fail');
      expect(exit.exitstatus).toBe(127);
      expect(body).toContain('command not found');
    });

    it('pings by <ping-key>/<slug> and creates the check with --create', async () => {
      const me = (await (await server.api('/api/v1/me')).json()) as { org: { ping_key: string } };
      const slug = `nightly-${randomUUID().slice(0, 8)}`;
      const ref = `${me.org.ping_key}/${slug}`;
      const unknown = await vigil(['run', '--check', ref, '--server', server.url, '--', 'true']).done;
      expect(unknown.code).toBe(0); // a failing ping never changes the command's status
      expect(unknown.stderr).toContain('vigil run: could not send start ping: HTTP 404');

      const created = await vigil(['run', '--check', ref, '--create', '--server', server.url, '--', 'sh', '-c', 'echo made']).done;
      expect(created.code).toBe(0);
      expect(created.stderr).toBe('');
      const list = (await (await server.api(`/api/v3/checks/?slug=${slug}`)).json()) as { checks: { slug: string; uuid: string }[] };
      expect(list.checks.map((c) => c.slug)).toEqual([slug]);
      const { exit, body } = await runPings(list.checks[0]?.uuid ?? '');
      expect(exit.type).toBe('success');
      expect(body).toBe('made\n');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Failure modes of the ping endpoint, played by a loopback HTTP server.

interface Received {
  path: string;
  rid: string | null;
  body: string;
}

type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

async function fakePingServer(answer: (request: Received, index: number) => Answer) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const request = { path: url.pathname, rid: url.searchParams.get('rid'), body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const a = answer(request, received.length - 1);
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'text/plain; charset=utf-8', ...a.headers }).end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const CHECK = '5b7f3b8c-3c3e-4d53-9f0b-1c8e0e6c2a41';

describe('vigil run against a failing ping endpoint', () => {
  it('retries a 503 on the start ping, then reports with the same rid', async () => {
    const fake = await fakePingServer((_, i) => (i === 0 ? { status: 503, body: 'busy' } : { status: 200, body: 'OK' }));
    try {
      const run = await vigil(['run', '--check', CHECK, '--server', fake.url, '--', 'sh', '-c', 'echo hello; exit 3']).done;
      expect(run.code).toBe(3);
      expect(run.stdout).toBe('hello\n');
      expect(run.stderr).toBe(''); // a retry that succeeds is not worth a warning
      expect(fake.received.map((r) => r.path)).toEqual([`/ping/${CHECK}/start`, `/ping/${CHECK}/start`, `/ping/${CHECK}/3`]);
      const rids = new Set(fake.received.map((r) => r.rid));
      expect(rids.size).toBe(1);
      expect([...rids][0]).toMatch(UUID_RE);
      expect(fake.received[2]?.body).toBe('hello\n');
    } finally {
      await fake.close();
    }
  });

  it('retries 429 and 5xx on the exit ping too', async () => {
    const statuses = [200, 429, 502, 200];
    const fake = await fakePingServer((_, i) => ({ status: statuses[i] ?? 200, body: 'x' }));
    try {
      const run = await vigil(['run', '--check', CHECK, '--server', fake.url, '--', 'true']).done;
      expect(run.code).toBe(0);
      expect(fake.received.map((r) => r.path)).toEqual([`/ping/${CHECK}/start`, `/ping/${CHECK}/0`, `/ping/${CHECK}/0`, `/ping/${CHECK}/0`]);
    } finally {
      await fake.close();
    }
  });

  it('never retries a 4xx, still runs the command and keeps its status, and says why on stderr', async () => {
    const fake = await fakePingServer(() => ({ status: 404, body: 'not found' }));
    try {
      const run = await vigil(['run', '--check', CHECK, '--server', fake.url, '--', 'sh', '-c', 'echo ran; exit 5']).done;
      expect(run.code).toBe(5);
      expect(run.stdout).toBe('ran\n');
      expect(fake.received).toHaveLength(2);
      expect(run.stderr).toContain('vigil run: could not send start ping: HTTP 404 not found');
      expect(run.stderr).toContain('vigil run: could not send exit status ping: HTTP 404 not found');
    } finally {
      await fake.close();
    }
  });

  it('gives up within its retry budget when the server cannot be reached', async () => {
    // A port that was just free: connections are refused.
    const fake = await fakePingServer(() => ({ status: 200 }));
    const url = fake.url;
    await fake.close();
    const run = await vigil(['run', '--check', CHECK, '--server', url, '--retries', '1', '--', 'sh', '-c', 'echo still ran; exit 7']).done;
    expect(run.code).toBe(7);
    expect(run.stdout).toBe('still ran\n');
    expect(run.stderr).toMatch(/could not send start ping: .*ECONNREFUSED/);
    expect(run.stderr).toMatch(/could not send exit status ping: .*ECONNREFUSED/);
    expect(run.ms).toBeLessThan(15_000);
  });

  it('gives each request a time limit', async () => {
    const fake = await fakePingServer(() => 'hang');
    try {
      const run = await vigil(['run', '--check', CHECK, '--server', fake.url, '--timeout', '0.3', '--retries', '0', '--', 'true']).done;
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('could not send start ping: no answer within 0.3 s');
      expect(fake.received).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });

  it('sends no more of the tail than the Ping-Body-Limit the server announced', async () => {
    const fake = await fakePingServer(() => ({ status: 200, body: 'OK', headers: { 'ping-body-limit': '16' } }));
    try {
      const run = await vigil(['run', '--check', CHECK, '--server', fake.url, '--quiet', '--', 'seq', '1', '1000']).done;
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(''); // --quiet
      const all = Array.from({ length: 1000 }, (_, i) => `${i + 1}\n`).join('');
      expect(fake.received[1]?.body).toBe(all.slice(-16));
    } finally {
      await fake.close();
    }
  });

  it('forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to the command', async () => {
    const fake = await fakePingServer(() => ({ status: 200, body: 'OK' }));
    const codes = { SIGINT: 61, SIGTERM: 62, SIGHUP: 63, SIGQUIT: 64 } as const;
    const traps = Object.entries(codes)
      .map(([signal, code]) => `trap 'kill $p 2>/dev/null; echo got ${signal}; exit ${code}' ${signal.slice(3)};`)
      .join(' ');
    try {
      await Promise.all(
        Object.entries(codes).map(async ([signal, code]) => {
          const run = vigil(['run', '--check', CHECK, '--server', fake.url, '--', 'sh', '-c', `${traps} sleep 30 & p=$!; echo ready; wait`]);
          await run.stdoutContains('ready');
          run.child.kill(signal as NodeJS.Signals);
          const result = await run.done;
          expect(result.code).toBe(code);
          expect(result.stdout).toBe(`ready\ngot ${signal}\n`);
        }),
      );
      const exits = fake.received.filter((r) => !r.path.endsWith('/start'));
      expect(exits.map((r) => r.path.split('/').pop()).sort()).toEqual(['61', '62', '63', '64']);
    } finally {
      await fake.close();
    }
  });

  it('hands everything after the command name to the command, even without --', async () => {
    const fake = await fakePingServer(() => ({ status: 200, body: 'OK' }));
    try {
      const run = await vigil(['run', '--check', CHECK, '--server', fake.url, 'printf', '%s|%s|%s', '-q', '--check', '--']).done;
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('-q|--check|--');
    } finally {
      await fake.close();
    }
  });

  it('rejects a malformed --check or a missing command with usage status 2, before running anything', async () => {
    const fake = await fakePingServer(() => ({ status: 200 }));
    try {
      const bad = await vigil(['run', '--check', 'not-a-check', '--server', fake.url, '--', 'sh', '-c', 'echo should not run']).done;
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toContain('"not-a-check" is neither a check UUID');
      const none = await vigil(['run', '--check', CHECK, '--server', fake.url]).done;
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no command given');
      const unknownFlag = await vigil(['run', '--frobnicate', '--check', CHECK, '--', 'true']).done;
      expect(unknownFlag.code).toBe(2);
      expect(fake.received).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });
});
