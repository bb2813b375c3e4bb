/** What the benchmarks share: a deterministic random source, synthetic access-log vocabulary, a server to load, number formatting. */
import { freshPostgresDatabase } from '../test/support/server.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from '../test/support/process.js';

/** mulberry32: a small, fast PRNG, so every run draws the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A draw from `[value, weight]` pairs with the given random source. */
export function weighted<T>(rnd: () => number, table: [T, number][]): () => T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  return () => {
    let r = rnd() * total;
    for (const [value, w] of table) if ((r -= w) < 0) return value;
    return table[0]![0];
  };
}

/** Synthetic access logs: sections, and methods and statuses repeated to weight the draw (mostly GET, mostly 200). */
export const SECTIONS = ['/api', '/report', '/help', '/static', '/login', '/admin', '/v1', '/v2', '/img', '/cart', '/search', '/account'];
export const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
export const STATUSES = [200, 200, 200, 200, 200, 200, 301, 304, 404, 500, 503];

/** `n` in en-US grouping with exactly `digits` decimals: 1,234,567 or 12.5. */
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
/** Bytes as decimal megabytes: "12 MB". */
export const mb = (bytes: number, digits = 0) => `${fmt(bytes / 1e6, digits)} MB`;

export const BENCH_TOKEN = 'bench-admin-token-0123456789';

export interface BenchServer {
  proc: VigilProcess;
  url: string;
  /** The server's own fresh database, for counting what it stored. */
  databaseUrl: string;
  /** Kills the server (-9: nothing to flush that the figures need) and drops its database. */
  stop(): Promise<void>;
}

/**
 * A `vigil start` from dist/ in a separate process, so the bench client does not share its event
 * loop, on a fresh PostgreSQL database (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local
 * test server) with BENCH_TOKEN as the admin key.
 */
export async function startBenchServer(env: Record<string, string> = {}): Promise<BenchServer> {
  const db = await freshPostgresDatabase(process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  try {
    const proc = await spawnVigil({ DATABASE_URL: db.url, VIGIL_ADMIN_TOKEN: BENCH_TOKEN, LOG_LEVEL: 'error', ...env }, await freePort());
    return {
      proc,
      url: proc.url,
      databaseUrl: db.url,
      async stop() {
        // Graceful first, so a server started with NODE_OPTIONS=--cpu-prof writes its profile.
        const exited = new Promise((r) => proc.child.once('exit', r));
        proc.child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        await killHard(proc);
        await db.drop();
      },
    };
  } catch (error) {
    await db.drop();
    throw error;
  }
}
