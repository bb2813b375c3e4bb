/**
 * A throwaway InfluxDB 1.x server (Debian's `influxdb` package, installed by .ci/run): influxd on
 * free loopback ports, with its own data in a temporary directory removed at stop. Used by the
 * InfluxDB sink test (auth on) and by the ingest bench (auth off, tuned for the bench's data).
 *
 * The WAL is fsynced before every write is answered (`wal-fsync-delay = "0s"`, the 1.6 default,
 * written out so that a reader of the config knows): a 204 from this server means the points are on
 * disk, as a 2xx from Vigil does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './process.js';

/** The influxd binary on PATH, or undefined when InfluxDB is not installed. */
export const INFLUXD = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'influxd')).find((path) => existsSync(path));

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface Influxd {
  url: string;
  /** The influxd process, for reading its CPU time and RSS from /proc. */
  pid: number;
  /** An InfluxQL statement (POST /query, times in epoch seconds), as the admin user when auth is on. */
  query(q: string, db?: string): Promise<InfluxSeries[]>;
  /** Stops influxd (SIGTERM, waiting for it) and removes its files. */
  stop(): Promise<void>;
}

export interface InfluxdOptions {
  /** Turns authentication on and creates this first admin user (the only one creatable without credentials). */
  admin?: { user: string; password: string };
  /** Extra settings for the `[data]` section, written as TOML values: `{ 'max-values-per-tag': 0 }`. */
  data?: Readonly<Record<string, string | number>>;
  /** Extra settings for the `[http]` section. */
  http?: Readonly<Record<string, string | number>>;
}

const toml = (settings: Readonly<Record<string, string | number>> = {}) =>
  Object.entries(settings)
    .map(([key, value]) => `  ${key} = ${typeof value === 'string' ? JSON.stringify(value) : value}\n`)
    .join('');

/** Polls `probe` until it returns true or `timeoutMs` passes. */
async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`influxd not ready within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts influxd on free loopback ports with its own data, and waits until it answers /ping. */
export async function startInfluxd(options: InfluxdOptions = {}, binary = INFLUXD): Promise<Influxd> {
  if (!binary) throw new Error('influxd is not on PATH (install the Debian package influxdb)');
  const dir = await mkdtemp(join(tmpdir(), 'vigil-influxd-'));
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  await writeFile(
    join(dir, 'influxdb.conf'),
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
${toml(options.data)}[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = ${options.admin ? 'true' : 'false'}
  log-enabled = false
${toml(options.http)}[logging]
  level = "warn"
`,
  );
  let output = '';
  const child: ChildProcess = spawn(binary, ['run', '-config', join(dir, 'influxdb.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode}:\n${output}`);
      return (await fetch(`${url}/ping`)).status === 204;
    }, 30_000);
    const { admin } = options;
    const basic = admin ? `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}` : undefined;
    const run = async (q: string, db?: string, auth = true): Promise<InfluxSeries[]> => {
      const params = new URLSearchParams({ q, epoch: 's', ...(db ? { db } : {}) });
      const res = await fetch(`${url}/query`, { method: 'POST', body: params, headers: auth && basic ? { authorization: basic } : {} });
      const body = (await res.json()) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
      const error = body.error ?? body.results?.find((r) => r.error)?.error;
      if (!res.ok || error) throw new Error(`InfluxQL ${q}: HTTP ${res.status} ${error ?? ''}`);
      return body.results?.flatMap((r) => r.series ?? []) ?? [];
    };
    if (admin) {
      // With auth on, only the first admin user can be created without credentials.
      await run(`CREATE USER "${admin.user}" WITH PASSWORD '${admin.password.replace(/'/g, "\\'")}' WITH ALL PRIVILEGES`, undefined, false);
    }
    return { url, pid: child.pid!, query: (q, db) => run(q, db), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
