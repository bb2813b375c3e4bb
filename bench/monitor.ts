import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse as csvParse } from 'csv-parse';
import { runMonitor, type MonitorSummary } from '../src/cli/monitor.js';
import { LineSplitter } from '../src/domains/logs/index.js';
import { trafficMonitorConfigSchema } from '../src/domains/stream/index.js';
import { METHODS, SECTIONS, STATUSES, fmt, mb, prng } from './support.js';

const LINES = Number(process.env.BENCH_MONITOR_LINES ?? 10_000_000);
const AIM = 500_000; // lines/s
const T0 = 1_549_573_860;

/**
 * Writes `lines` CSV rows (plus the header) in bounded chunks with backpressure, never holding the
 * file. Traffic: ~8 requests/s, with a 5-minute burst to ~16/s every 30 minutes (so the default
 * 10/s threshold fires and recovers), 20,000 distinct hosts, rows up to 3 s out of order.
 */
async function generate(path: string, lines: number): Promise<void> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const rnd = prng(42);
  let chunk = '"remotehost","rfc931","authuser","date","request","status","bytes"\n';
  let second = T0;
  let leftThisSecond = 0;
  for (let i = 0; i < lines; i++) {
    while (leftThisSecond === 0) {
      second++;
      const burst = (second - T0) % 1800 < 300;
      leftThisSecond = Math.floor(rnd() * (burst ? 32 : 16)) + (burst ? 1 : 0);
    }
    leftThisSecond--;
    const host = Math.floor(rnd() * 20_000);
    const time = second - (rnd() < 0.2 ? Math.floor(rnd() * 4) : 0);
    const section = SECTIONS[Math.floor(rnd() * SECTIONS.length)]!;
    chunk += `"10.${host >> 8}.${host & 255}.${(host * 7) & 255}","-","apache",${time},"${METHODS[Math.floor(rnd() * METHODS.length)]} ${section}/item${Math.floor(rnd() * 500)} HTTP/1.1",${STATUSES[Math.floor(rnd() * STATUSES.length)]},${100 + Math.floor(rnd() * 9000)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

const nullSink = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

/** Reading and splitting lines only: the I/O + decode ceiling the monitor cannot beat. */
async function splitOnly(path: string): Promise<number> {
  let n = 0;
  const splitter = new LineSplitter({ line: () => n++, tooLong: () => n++ });
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) splitter.push(chunk as Buffer);
  splitter.end();
  return n;
}

/** csv-parse's streaming API alone over the first `limit` rows: why the monitor has a fast path. */
async function csvParseOnly(path: string, limit: number): Promise<{ rows: number; ms: number }> {
  const started = performance.now();
  let rows = 0;
  const parser = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(csvParse({ from_line: 2, to_line: limit + 1 }));
  for await (const _row of parser) rows++;
  return { rows, ms: performance.now() - started };
}

/**
 * `vigil monitor` over a generated 10-million-line CSV: lines/s, peak RSS and whether memory stays
 * flat, against the aim of 500,000 lines/s. Runs the same function as the CLI, in-process, with
 * the text output going to a null sink.
 */
export async function benchMonitor(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-monitor-'));
  const file = join(dir, 'access.csv');
  try {
    let started = performance.now();
    await generate(file, LINES);
    const size = (await stat(file)).size;
    console.log(`generated ${fmt(LINES)} lines (${mb(size)}) in ${((performance.now() - started) / 1000).toFixed(1)} s: ${file}`);

    started = performance.now();
    const split = await splitOnly(file);
    const splitMs = performance.now() - started;
    const csv = await csvParseOnly(file, Math.min(LINES, 1_000_000));

    // Memory: sampled while the monitor runs, keyed by how far through the file it is.
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let bytesRead = 0;
    const samples: { at: number; rss: number }[] = [];
    const sampler = setInterval(() => samples.push({ at: bytesRead / size, rss: process.memoryUsage().rss }), 100);
    const input = createReadStream(file, { highWaterMark: 1 << 20 });
    input.on('data', (chunk) => (bytesRead += chunk.length));
    const engine = trafficMonitorConfigSchema.parse({});
    started = performance.now();
    const summary: MonitorSummary = await runMonitor(input, { engine, format: 'auto', json: false, showBad: 100 }, { out: nullSink(), err: nullSink() });
    const ms = performance.now() - started;
    clearInterval(sampler);
    samples.push({ at: 1, rss: process.memoryUsage().rss });

    const perSec = (summary.lines / ms) * 1000;
    const peak = Math.max(...samples.map((s) => s.rss));
    const rssAt = (fraction: number) => samples.find((s) => s.at >= fraction)?.rss ?? peak;
    const jsonStarted = performance.now();
    const jsonRun = await runMonitor(createReadStream(file, { highWaterMark: 1 << 20 }), { engine, format: 'auto', json: true, showBad: 100 }, { out: nullSink(), err: nullSink() });
    const jsonPerSec = (jsonRun.lines / (performance.now() - jsonStarted)) * 1000;

    console.log(`monitor (text output to a null sink): ${fmt(summary.lines)} lines in ${(ms / 1000).toFixed(1)} s = ${fmt(perSec)} lines/s (${mb((size / ms) * 1000)}/s)`);
    console.log(`  records ${fmt(summary.records)}, bad ${summary.bad}, late ${summary.late}, too late ${summary.tooLate}, alerts ${summary.alerts}`);
    console.log(`monitor --json: ${fmt(jsonPerSec)} lines/s`);
    console.log(`memory: RSS ${mb(rssBefore)} before; ${mb(rssAt(0.1))} at 10%, ${mb(rssAt(0.5))} at 50%, ${mb(rssAt(0.9))} at 90% of the file; peak ${mb(peak)} while reading a ${mb(size)} file (process max RSS ${mb(process.resourceUsage().maxRSS * 1024)})`);
    console.log(`ceilings on this machine: read + split lines only ${fmt((split / splitMs) * 1000)} lines/s; csv-parse streaming alone ${fmt((csv.rows / csv.ms) * 1000)} rows/s (first ${fmt(csv.rows)} rows)`);
    console.log(`ratio: ${(perSec / AIM).toFixed(2)}× the ${fmt(AIM)} lines/s aim; ${(perSec / ((split / splitMs) * 1000)).toFixed(2)}× the read+split ceiling; RSS growth from 10% to 90% of the file ${mb(rssAt(0.9) - rssAt(0.1))}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
