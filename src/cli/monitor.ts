import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import TailFile from '@logdna/tail-file';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { AccessLogParser, LineSplitter, type AccessLogFormat } from '../domains/logs/index.js';
import { STATUS_CLASSES, TrafficMonitor, trafficMonitorConfigSchema, type MonitorDecision, type StatsDecision, type TrafficMonitorConfig } from '../domains/stream/index.js';

/** Exit status for a usage error (bad flag value), as Unix tools do. */
const EXIT_USAGE = 2;
const READ_CHUNK = 1 << 20;
/** How often `--follow` looks at the file for new bytes or a rotation. */
const FOLLOW_POLL_MS = 250;

const EXAMPLES = `
Examples:
  $ vigil monitor access.csv
  $ vigil monitor --threshold 5 --json access.log > events.ndjson
  $ tail -n +1 -F /var/log/nginx/access.log | vigil monitor -
  $ vigil monitor --follow /var/log/nginx/access.log

Reads an HTTP access log (the CSV form with header "remotehost","rfc931","authuser","date",
"request","status","bytes", or Common/Combined Log Format, detected from the first lines) as if it
arrived live. Time comes from the log, never from the clock: every --stats-interval seconds of log
time it prints the sections with the most hits and summary statistics, and it prints an alert when
the average traffic over the last --window seconds exceeds --threshold requests per second, and a
recovery when it drops back. Bad lines are skipped and reported on stderr with their line number.`;

const seconds = (flag: string, max: number, min = 1) =>
  z.coerce
    .number({ error: `${flag} must be a number of seconds` })
    .int(`${flag} must be a whole number of seconds`)
    .min(min, `${flag} must be at least ${min}`)
    .max(max, `${flag} must be at most ${max}`);

const optionsSchema = z.object({
  threshold: z.coerce.number({ error: '--threshold must be a number of requests per second' }).min(0, '--threshold must not be negative').max(1e12, '--threshold is too large'),
  window: seconds('--window', 86_400),
  statsInterval: seconds('--stats-interval', 86_400),
  outOfOrder: seconds('--out-of-order', 86_400, 0),
  lateness: seconds('--lateness', 30 * 86_400, 0),
  top: z.coerce.number({ error: '--top must be a number' }).int('--top must be a whole number').min(1, '--top must be at least 1').max(1000, '--top must be at most 1000'),
  format: z.enum(['auto', 'csv', 'clf'], { error: '--format must be auto, csv or clf' }),
  json: z.boolean().default(false),
  follow: z.boolean().default(false),
  fromEnd: z.boolean().default(false),
  showBad: z.coerce.number({ error: '--show-bad must be a number' }).int('--show-bad must be a whole number').min(0, '--show-bad must not be negative'),
});
type RawOptions = { [K in keyof z.input<typeof optionsSchema>]?: unknown };

export interface MonitorOptions {
  engine: TrafficMonitorConfig;
  format: AccessLogFormat | 'auto';
  json: boolean;
  /** Bad lines reported one by one on stderr; the rest are only counted. */
  showBad: number;
}

export interface MonitorSummary {
  format: AccessLogFormat | null;
  bytes: number;
  lines: number;
  records: number;
  bad: number;
  tooLong: number;
  blank: number;
  headers: number;
  late: number;
  tooLate: number;
  alerts: number;
}

export interface MonitorIo {
  out: Writable;
  err: Writable;
  /** Shown on stderr while reading, when stderr is a terminal. */
  progress?: Progress | undefined;
}

/**
 * The console monitor over one byte stream (a file, stdin or a followed file): split into lines,
 * parse, feed the event-time engine, print its decisions. In constant memory: one chunk at a time,
 * and output is flushed (respecting backpressure) after each chunk. The bench calls this too.
 */
export async function runMonitor(input: AsyncIterable<Buffer | string>, options: MonitorOptions, io: MonitorIo): Promise<MonitorSummary> {
  const parser = new AccessLogParser(options.format);
  const monitor = new TrafficMonitor(options.engine);
  const summary: MonitorSummary = { format: null, bytes: 0, lines: 0, records: 0, bad: 0, tooLong: 0, blank: 0, headers: 0, late: 0, tooLate: 0, alerts: 0 };
  let out = '';
  let err = '';
  const report = (lineNo: number, reason: string) => {
    const n = summary.bad + summary.tooLong;
    if (n <= options.showBad) err += `line ${lineNo}: ${reason}\n`;
    else if (n === options.showBad + 1) err += `further bad lines are counted but not shown (--show-bad ${options.showBad})\n`;
  };
  const print = (decisions: readonly MonitorDecision[]) => {
    for (const d of decisions) {
      if (d.type === 'alert') summary.alerts++;
      out += options.json ? `${JSON.stringify(d)}\n` : formatDecision(d, options.engine);
    }
  };
  const splitter = new LineSplitter({
    line(text, lineNo) {
      const r = parser.parse(text);
      if (r === null) return;
      if (!r.ok) {
        summary.bad++;
        return report(lineNo, r.reason);
      }
      summary.records++;
      const decisions = monitor.push(r.record);
      if (decisions.length !== 0) print(decisions);
    },
    tooLong(lineNo, length) {
      summary.tooLong++;
      report(lineNo, `line too long (${length} characters), skipped`);
    },
  });
  // The progress line is on stderr: output only has to erase it when both go to one terminal.
  const outOnTerminal = (io.out as Writable & { isTTY?: boolean }).isTTY === true;
  const flush = async () => {
    if (err.length !== 0) {
      io.progress?.clear();
      io.err.write(err);
      err = '';
    }
    if (out.length !== 0) {
      if (outOnTerminal) io.progress?.clear();
      const ok = io.out.write(out);
      out = '';
      if (!ok) await once(io.out, 'drain');
    }
  };
  for await (const chunk of input) {
    summary.bytes += chunk.length;
    splitter.push(chunk);
    await flush();
    io.progress?.update(summary.bytes, splitter.lines);
  }
  splitter.end();
  print(monitor.end());
  await flush();
  io.progress?.clear();
  const counters = monitor.counters;
  Object.assign(summary, { format: parser.format, lines: splitter.lines, blank: parser.blanks, headers: parser.headers, late: counters.late, tooLate: counters.tooLate });
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Text output

function iso(time: number): string {
  return new Date(time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const rate = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function formatDecision(d: MonitorDecision, config: TrafficMonitorConfig): string {
  if (d.type === 'stats') return formatStats(d, config);
  return d.type === 'alert'
    ? `High traffic generated an alert - hits = ${d.hits}, triggered at ${iso(d.time)} (${d.time})\n`
    : `High traffic alert recovered - hits = ${d.hits}, recovered at ${iso(d.time)} (${d.time})\n`;
}

function formatStats(s: StatsDecision, config: TrafficMonitorConfig): string {
  const classes = STATUS_CLASSES.filter((c) => c !== '1xx' || s.status[c] > 0).map((c) => `${c} ${s.status[c]}`);
  const head =
    `${iso(s.time)}${s.revision ? ' revised' : ''}  last ${s.interval} s: ${s.requests} request${s.requests === 1 ? '' : 's'} · ${classes.join(' · ')}` +
    ` · errors ${(s.errorRate * 100).toFixed(1)}% · ${formatBytes(s.bytes)} · ${s.hosts} host${s.hosts === 1 ? '' : 's'}` +
    (s.late ? ` · ${s.late} late` : '') +
    `  | ${rate(s.average)} req/s over ${config.window} s (${s.hits} hits)\n`;
  const top = s.sections.length ? s.sections.map((x) => `${x.section} ${x.hits}`).join(' · ') : '-';
  return `${head}    top sections: ${top}\n`;
}

// ---------------------------------------------------------------------------------------------
// Progress on a terminal (wall-clock throttled: display only, never event time)

export class Progress {
  private shown = false;
  private last = 0;
  private readonly started = performance.now();

  constructor(
    private readonly stream: Writable,
    private readonly label: string,
    private readonly total: number | null,
  ) {}

  update(bytes: number, lines: number): void {
    const now = performance.now();
    if (now - this.last < 200) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const pct = this.total ? ` ${((bytes / this.total) * 100).toFixed(0)}% of ${formatBytes(this.total)}` : ` ${formatBytes(bytes)}`;
    const speed = secs > 0 ? ` · ${Math.round(lines / secs).toLocaleString('en-US')} lines/s` : '';
    this.stream.write(`\r\x1b[K${this.label}:${pct} · ${lines.toLocaleString('en-US')} lines${speed}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Command

function summaryText(s: MonitorSummary): string {
  const skipped = s.bad + s.tooLong;
  const parts = [
    `${s.lines.toLocaleString('en-US')} line${s.lines === 1 ? '' : 's'} read (${s.format ?? 'format not recognised'})`,
    `${s.records.toLocaleString('en-US')} record${s.records === 1 ? '' : 's'}`,
    `${skipped.toLocaleString('en-US')} bad line${skipped === 1 ? '' : 's'} skipped${s.tooLong ? ` (${s.tooLong} too long)` : ''}`,
  ];
  if (s.headers) parts.push(`${s.headers} header line${s.headers === 1 ? '' : 's'}`);
  if (s.blank) parts.push(`${s.blank} blank`);
  parts.push(`${s.late.toLocaleString('en-US')} late (counted), ${s.tooLate.toLocaleString('en-US')} too late (not counted)`);
  return `monitor: ${parts.join(', ')}\n`;
}

interface Source {
  input: AsyncIterable<Buffer | string>;
  label: string;
  total: number | null;
  /** Ends the input cleanly (follow mode), or null when interrupting should just exit. */
  stop: (() => Promise<void>) | null;
}

async function openSource(file: string | undefined, follow: boolean, fromEnd: boolean, err: Writable): Promise<Source> {
  if (file === undefined || file === '-') {
    if (follow) throw new UsageError('--follow needs a FILE (standard input is already live)');
    if (process.stdin.isTTY) throw new UsageError('give a FILE, or pipe a log into standard input');
    return { input: process.stdin, label: 'stdin', total: null, stop: null };
  }
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  if (!follow) {
    // A FIFO or a character device is read as a stream too, without a size for the progress line.
    return { input: createReadStream(file, { highWaterMark: READ_CHUNK }), label: file, total: info.isFile() ? info.size : null, stop: null };
  }
  // tail -F: new bytes as they are written, across rotation (rename + new file, or truncation).
  const tail = new TailFile(file, {
    startPos: fromEnd ? null : 0,
    pollFileIntervalMs: FOLLOW_POLL_MS,
    pollFailureRetryMs: 500,
    // A rotated file may take a while to be re-created: wait for it rather than give up.
    maxPollFailures: Number.MAX_SAFE_INTEGER,
    readStreamOpts: { highWaterMark: READ_CHUNK },
  });
  let waiting = false;
  tail.on('renamed', () => {
    waiting = false;
    err.write(`monitor: ${file} was rotated; following the new file\n`);
  });
  tail.on('truncated', () => {
    waiting = false;
    err.write(`monitor: ${file} was truncated; reading it from the start\n`);
  });
  tail.on('retry', () => {
    if (!waiting) err.write(`monitor: ${file} disappeared; waiting for it to come back\n`);
    waiting = true;
  });
  tail.on('tail_error', (error: Error) => err.write(`monitor: ${error.message}\n`));
  await tail.start();
  return { input: tail, label: file, total: null, stop: () => tail.quit() };
}

class UsageError extends Error {}

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('Watch an HTTP access log: stats every 10 s of log time, alert on high traffic')
    .argument('[file]', 'the access log (CSV or Common/Combined Log Format); "-" or nothing for standard input')
    .option('-t, --threshold <req/s>', 'alert when the average over the window exceeds this', '10')
    .option('-w, --window <seconds>', 'the alert window', '120')
    .option('-i, --stats-interval <seconds>', 'seconds of log time between stats', '10')
    .option('--out-of-order <seconds>', 'how far behind the newest line a line may be and still be on time', '5')
    .option('--lateness <seconds>', 'how long after that a late line still revises results', '300')
    .option('--top <n>', 'sections listed in the stats', '5')
    .addOption(new Option('--format <format>', 'the log format').choices(['auto', 'csv', 'clf']).default('auto'))
    .option('--json', 'print one JSON object per line (stats, alert, recover)')
    .option('-f, --follow', 'keep reading as the file grows, across rotation (until interrupted)')
    .option('--from-end', 'with --follow: start at the end of the file instead of its beginning')
    .option('--show-bad <n>', 'bad lines reported one by one on stderr (the rest are counted)', '100')
    .showHelpAfterError("Try 'vigil monitor --help'.")
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE))
    .addHelpText('after', EXAMPLES)
    .action(async (file: string | undefined, raw: RawOptions) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) {
        process.stderr.write(`vigil monitor: ${parsed.error.issues.map((i) => i.message).join('; ')}\nTry 'vigil monitor --help'.\n`);
        process.exit(EXIT_USAGE);
      }
      const o = parsed.data;
      if (o.fromEnd && !o.follow) {
        process.stderr.write('vigil monitor: --from-end needs --follow\n');
        process.exit(EXIT_USAGE);
      }
      const engine = trafficMonitorConfigSchema.parse({ window: o.window, statsInterval: o.statsInterval, threshold: o.threshold, outOfOrder: o.outOfOrder, lateness: o.lateness, top: o.top });
      // `vigil monitor big.log | head`: a closed pipe ends the program quietly, as for any Unix filter.
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') process.exit(0);
        throw error;
      });
      let source: Source;
      try {
        source = await openSource(file, o.follow, o.fromEnd, process.stderr);
      } catch (error) {
        process.stderr.write(`vigil monitor: ${(error as Error).message}\n`);
        process.exit(error instanceof UsageError ? EXIT_USAGE : 1);
      }
      // Interrupting --follow stops reading, and what was read is finished (last stats, summary);
      // a second interrupt, or one while reading a file or stdin, exits at once as usual.
      const stopSource = source.stop;
      if (stopSource !== null) {
        let stopping = false;
        const stop = () => {
          if (stopping) process.exit(130);
          stopping = true;
          void stopSource();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      }
      const progress = process.stderr.isTTY ? new Progress(process.stderr, source.label, source.total) : undefined;
      const summary = await runMonitor(source.input, { engine, format: o.format, json: o.json, showBad: o.showBad }, { out: process.stdout, err: process.stderr, progress });
      process.stderr.write(summaryText(summary));
      if (summary.records === 0 && summary.lines > summary.blank) {
        process.stderr.write('vigil monitor: no access-log line recognised (expected the CSV form with its header, or Common/Combined Log Format)\n');
        process.exitCode = 1;
      }
    });
}
