/**
 * Throwaway PostgreSQL clusters and NATS servers a test may stop and start at will. The shared
 * services of the suite must never be restarted (other test files use them), so fault tests run
 * their own, on free ports, in temporary directories removed afterwards.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.js';

const run = promisify(execFile);

export const PG_BIN = '/usr/lib/postgresql/15/bin';
export const NATS_SERVER = '/usr/sbin/nats-server';

/**
 * Why a throwaway PostgreSQL cannot run here, or undefined when it can. initdb refuses to run as
 * root, so the cluster belongs to the `postgres` user and its tools run through `runuser`.
 */
export async function throwawayPostgresUnavailable(): Promise<string | undefined> {
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(PG_BIN, tool))) return `${join(PG_BIN, tool)} is missing (install postgresql-15)`;
  }
  if (process.getuid?.() === 0) {
    try {
      await run('id', ['-u', 'postgres']);
      await run('runuser', ['--help']);
    } catch {
      return 'running as root without a "postgres" user or runuser to start PostgreSQL as';
    }
  }
  return undefined;
}

export function throwawayNatsUnavailable(): string | undefined {
  return existsSync(NATS_SERVER) ? undefined : `${NATS_SERVER} is missing (install nats-server)`;
}

export interface ThrowawayPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** Fast shutdown, as `pg_ctlcluster … stop` and `restart` do: sessions are terminated (57P01). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops for good and removes the files. */
  destroy(): Promise<void>;
}

/** initdb + pg_ctl start of a private cluster (trust auth, no fsync: it holds test data only). */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const tool = (name: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, name), ...args], { cwd: dir }) : run(join(PG_BIN, name), args, { cwd: dir });
  const data = join(dir, 'data');
  await tool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = async () => {
    await tool('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    await tool('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  await start();
  let destroyed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await tool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ThrowawayNats {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** `nats-server -js` on a free port with its own store directory, which survives stop/start. */
export async function startThrowawayNats(): Promise<ThrowawayNats> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    child = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const started = child;
    started.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    started.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 15_000;
    while (!/Server is ready/.test(output)) {
      if (started.exitCode !== null) throw new Error(`nats-server exited with ${started.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not start within 15 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    output = '';
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
