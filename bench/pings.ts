import autocannon from 'autocannon';
import pg from 'pg';
import { BENCH_TOKEN, startBenchServer } from './support.js';

const CHECKS = 1000;

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (error, result) => (error ? reject(error) : resolve(result)));
    // Progress on stderr only when a person is watching.
    if (process.stderr.isTTY) autocannon.track(instance, { renderResultsTable: false, renderLatencyTable: false });
  });
}

/**
 * Durable pings per second into PostgreSQL through the HTTP ping API of a separate `vigil start`
 * process, then latency percentiles at a fixed 1,000 pings/s. A 2xx means the ping was committed,
 * which the bench verifies by counting rows afterwards.
 */
export async function benchPings(): Promise<void> {
  const server = await startBenchServer();
  try {
    const ids: string[] = [];
    for (let i = 0; i < CHECKS; i++) {
      const res = await fetch(`${server.url}/api/v3/checks/`, {
        method: 'POST',
        headers: { 'x-api-key': BENCH_TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `job-${i}`, timeout: 3600, grace: 600 }),
      });
      ids.push(((await res.json()) as { uuid: string }).uuid);
    }
    let next = 0;
    const path = () => `/ping/${ids[next++ % ids.length]}`;
    const common = { url: server.url, method: 'POST' as const, body: 'ok', setupClient: undefined, requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: path() }) }] };

    await run({ ...common, connections: 16, duration: 2 }); // warm-up: JIT, pool, caches
    const max = await run({ ...common, connections: 64, duration: 10 });
    const fixed = await run({ ...common, connections: 32, duration: 10, overallRate: 1000 });

    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    const stored = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM pings')).rows[0]!.n);
    await client.end();
    const ok = max.requests.total - max.non2xx - max.errors;
    const perSec = ok / (max.duration || 10);

    console.log(`checks: ${CHECKS}, store: PostgreSQL (fresh database), server: separate process`);
    console.log(`max throughput: ${perSec.toFixed(0)} durable pings/s (64 connections, ${max.duration}s; non-2xx ${max.non2xx}, errors ${max.errors})`);
    console.log(`  latency at max: p50 ${max.latency.p50} ms, p99 ${max.latency.p99} ms`);
    console.log(`fixed 1000 pings/s for ${fixed.duration}s: ${(fixed.requests.total / (fixed.duration || 10)).toFixed(0)}/s achieved; latency p50 ${fixed.latency.p50} ms, p90 ${fixed.latency.p90} ms, p99 ${fixed.latency.p99} ms, max ${fixed.latency.max} ms`);
    console.log(`durability check: ${stored} ping rows stored for ${max.requests.total + fixed.requests.total} requests sent after warm-up (includes warm-up rows)`);
    console.log(`ratios: ${(perSec / 5000).toFixed(2)}× the 5,000/s aim; ${(perSec / 250).toFixed(1)}× Healthchecks' open-source handler (~250/s); p99 at 1000/s is ${(fixed.latency.p99 / 50).toFixed(2)}× the 50 ms budget`);
  } finally {
    await server.stop();
  }
}
