import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ROW_GROUP_SIZE, readArchiveFile, searchArchive, writeArchiveFile, type ArchiveRow } from '../src/platform/archive/index.js';
import { METHODS, SECTIONS, STATUSES, fmt, mb, prng } from './support.js';

const ROWS = Number(process.env.BENCH_ARCHIVE_ROWS ?? 1_000_000);
const ROW_GROUP = Number(process.env.BENCH_ARCHIVE_ROW_GROUP ?? DEFAULT_ROW_GROUP_SIZE);
/** hyparquet-writer's own figure on this kind of machine (ARCHITECTURE.md). */
const REFERENCE_WRITE = 340_000;
const DAY = '2024-05-01';
const DAY0 = Date.parse(`${DAY}T00:00:00Z`);
const SERVICES = ['web', 'api', 'checkout', 'search'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0', 'curl/8.5.0', 'Vector/0.38', 'Go-http-client/1.1'];

/**
 * Access-log events spread over one day in time order (as an export of a time partition reads them),
 * with high-cardinality paths and client addresses. A generator, so the input never sits in memory.
 */
function* accessLog(n: number): Generator<ArchiveRow> {
  const rnd = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  for (let i = 0; i < n; i++) {
    const ts = DAY0 + Math.floor((i / n) * 86_400_000);
    const section = pick(SECTIONS);
    const path = `${section}/item${Math.floor(rnd() * 50_000)}`;
    const method = pick(METHODS);
    const status = pick(STATUSES);
    const client = Math.floor(rnd() * 200_000);
    const remoteAddr = `10.${client >> 16}.${(client >> 8) & 255}.${client & 255}`;
    const bytes = 100 + Math.floor(rnd() * 90_000);
    yield {
      timestamp: ts,
      receivedAt: ts + Math.floor(rnd() * 2000),
      service: pick(SERVICES),
      host: `web-${Math.floor(rnd() * 40)}`,
      source: 'nginx',
      level: status >= 500 ? 'error' : 'info',
      message: `${remoteAddr} - - "${method} ${path} HTTP/1.1" ${status} ${bytes}`,
      method,
      path,
      section,
      status,
      bytes,
      durationMs: Math.round(rnd() * 250_000) / 1000,
      remoteAddr,
      userAgent: pick(AGENTS),
      attributes: rnd() < 0.3 ? { 'url.query': `page=${Math.floor(rnd() * 20)}` } : {},
      id: String(i + 1),
      tooLate: false,
    };
  }
}

const rate = (n: number, ms: number) => `${fmt((n / ms) * 1000)} rows/s`;

/**
 * Writes ROWS (default 1M) access-log events to one archive file, reads them all back, then searches:
 * the newest page (what the Logs page asks first) and a rare-text query that has to scan the whole day.
 */
export async function benchArchive(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-archive-'));
  try {
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const rssBefore = process.memoryUsage().rss;

    let t = performance.now();
    const file = await writeArchiveFile(dir, { orgId: 'bench', day: DAY, rows: accessLog(ROWS), rowGroupSize: ROW_GROUP });
    const writeMs = performance.now() - t;
    const writePeak = peakRss;

    t = performance.now();
    let read = 0;
    let checksum = 0;
    for await (const row of readArchiveFile(file.path)) {
      read++;
      checksum += row.status ?? 0;
    }
    const readMs = performance.now() - t;
    clearInterval(sampler);
    if (read !== ROWS || checksum === 0) throw new Error(`read back ${read} rows, wrote ${ROWS}`);

    const range = { from: DAY0, to: DAY0 + 86_400_000 };
    t = performance.now();
    const newest = await searchArchive(dir, 'bench', { ...range, limit: 100 });
    const newestMs = performance.now() - t;
    t = performance.now();
    const rare = await searchArchive(dir, 'bench', { ...range, q: 'ITEM49999 http', limit: 100 });
    const rareMs = performance.now() - t;

    console.log(`rows                 ${fmt(ROWS)} (one org, one day, in time order)`);
    console.log(`write                ${rate(ROWS, writeMs)}  (${(writeMs / 1000).toFixed(1)} s; hyparquet-writer reference ${fmt(REFERENCE_WRITE)} rows/s, ratio ${((ROWS / writeMs) * 1000 / REFERENCE_WRITE).toFixed(2)})`);
    console.log(`file                 ${mb(file.bytes, 1)}  (${(file.bytes / ROWS).toFixed(1)} bytes/row, ${Math.ceil(ROWS / ROW_GROUP)} row groups of ${fmt(ROW_GROUP)})`);
    console.log(`rss while writing    ${mb(writePeak, 1)} peak (${mb(rssBefore, 1)} before; input streamed from a generator)`);
    console.log(`read all rows        ${rate(ROWS, readMs)}  (${(readMs / 1000).toFixed(1)} s)`);
    console.log(`search newest 100    ${newestMs.toFixed(0)} ms  (${newest.scanned.rowGroups} row group(s), ${fmt(newest.scanned.rows)} rows read)`);
    console.log(`search rare text     ${rareMs.toFixed(0)} ms  (${rare.rows.length} hits, ${fmt(rare.scanned.rows)} rows scanned, ${rate(rare.scanned.rows, rareMs)})`);
    console.log(`peak rss             ${mb(peakRss, 1)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
