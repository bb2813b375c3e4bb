import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const VIGIL_BIN = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

/** A free loopback port (for a server in another process, whose port must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface VigilProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `vigil start` as a real separate process (from the build in dist/) and waits for /healthz. */
export async function spawnVigil(env: Record<string, string>, port: number): Promise<VigilProcess> {
  let output = '';
  // VIGIL_NODE_ARGS: extra node flags for the server, e.g. `--cpu-prof` to profile a bench (NODE_OPTIONS may not carry it).
  const nodeArgs = (process.env.VIGIL_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, VIGIL_BIN, 'start', '--port', String(port), '--host', '127.0.0.1'], {
    // NATS_URL is not inherited (CI sets it for the bus tests): a server uses JetStream only when asked.
    env: { ...process.env, LOG_LEVEL: 'warn', NATS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vigil exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`vigil did not become ready within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, output: () => output };
}

/** kill -9, and wait until the process is gone. */
export async function killHard(proc: VigilProcess): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGKILL');
  await exited;
  assertEveryQueryTenanted(proc);
}

/**
 * A real process runs with row-level security denying work outside any tenant context (test
 * servers in-process let it through, for the tests' own queries): a worker or route that forgot
 * asOrg/asSystem shows up here as the store's warning, and fails the test that ran it.
 */
export function assertEveryQueryTenanted(proc: VigilProcess): void {
  const at = proc.output().indexOf('outside any tenant context');
  if (at >= 0) throw new Error(`vigil ran a query outside any tenant context (row-level security denied it):\n${proc.output().slice(Math.max(0, at - 200), at + 3000)}`);
}
