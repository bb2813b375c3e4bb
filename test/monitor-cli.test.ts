import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `vigil monitor` as users run it: the built CLI in a child process, on the sample access log (test/data), on
// standard input, and following a file that grows and is rotated.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const SAMPLE = fileURLToPath(new URL('./data/sample_csv.txt', import.meta.url));
const HEADER = '"remotehost","rfc931","authuser","date","request","status","bytes"';

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  done: Promise<Finished>;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout holds `text` (fails after `ms`, or if the process ends first). */
  waitFor(text: string, ms?: number): Promise<void>;
}

function monitor(args: string[], stdin?: string): Running {
  const child = spawn(process.execPath, [BIN, 'monitor', ...args], { cwd: ROOT, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  if (stdin !== undefined) child.stdin!.end(stdin);
  const done = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  let ended = false;
  void done.then(() => (ended = true));
  return {
    child,
    done,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitFor(text, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (!stdout.includes(text)) {
        if (ended) throw new Error(`vigil monitor ended before printing ${text}; stdout:\n${stdout}\nstderr:\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`no ${text} after ${ms} ms; stdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

type Json = { type: string; time: number; hits: number; requests?: number; interval?: number; revision?: boolean };
const jsonLines = (text: string): Json[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json);

const row = (time: number, path = '/api/user', status = 200, host = '10.0.0.1') => `"${host}","-","apache",${time},"GET ${path} HTTP/1.0",${status},100\n`;

beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error('test/monitor-cli.test.ts runs the built CLI (bin/vigil.js): run `npm run build` first');
});

describe('vigil monitor on the sample access log', () => {
  it('prints stats every 10 s of log time and the alerts and recoveries at the default threshold (10 req/s)', async () => {
    const { code, stdout, stderr } = await monitor([SAMPLE]).done;
    expect(code).toBe(0);
    const alertLines = stdout.split('\n').filter((l) => l.startsWith('High traffic'));
    expect(alertLines).toEqual([
      'High traffic generated an alert - hits = 1206, triggered at 2019-02-07T21:12:36Z (1549573956)',
      'High traffic alert recovered - hits = 1198, recovered at 2019-02-07T21:14:03Z (1549574043)',
      'High traffic generated an alert - hits = 1218, triggered at 2019-02-07T21:16:03Z (1549574163)',
      'High traffic alert recovered - hits = 1196, recovered at 2019-02-07T21:18:22Z (1549574302)',
    ]);
    expect(stdout).toContain('2019-02-07T21:11:00Z  last 10 s: 11 requests · 2xx 10 · 3xx 0 · 4xx 0 · 5xx 1 · errors 9.1% · 13.6 kB · 4 hosts');
    expect(stdout).toContain('    top sections: /api 8 · /report 3\n');
    expect(stdout.split('\n').filter((l) => l.includes('  last ')).length).toBe(49);
    expect(stderr).toBe('monitor: 4,831 lines read (csv), 4,830 records, 0 bad lines skipped, 1 header line, 0 late (counted), 0 too late (not counted)\n');
  });

  it('--json on standard input: one object per line, alerts at threshold 15 and 5', async () => {
    const input = readFileSync(SAMPLE, 'utf8');
    const at15 = jsonLines((await monitor(['--json', '--threshold', '15', '-'], input).done).stdout);
    expect(at15.filter((d) => d.type === 'stats')).toHaveLength(49);
    expect(at15.filter((d) => d.type !== 'stats').map((d) => [d.type, d.time, d.hits])).toEqual([
      ['alert', 1549574187, 1808],
      ['recover', 1549574279, 1799],
    ]);
    expect(at15[0]).toMatchObject({ type: 'stats', time: 1549573860, hits: 11, requests: 11, interval: 10 });
    const at5 = jsonLines((await monitor(['--json', '-t', '5'], input).done).stdout);
    expect(at5.filter((d) => d.type !== 'stats').map((d) => `${d.type}@${d.time}`)).toEqual(['alert@1549573923', 'recover@1549574083', 'alert@1549574139', 'recover@1549574326']);
  });
});

describe('vigil monitor input handling', () => {
  const T = 1_700_000_000;

  it('skips bad lines, reporting each with its line number and reason, and sums them up at the end', async () => {
    const input = [HEADER, row(T + 1).trim(), '"a","-","u",yesterday,"GET /x HTTP/1.0",200,1', 'total garbage', row(T + 2).trim(), ''].join('\n');
    const { code, stdout, stderr } = await monitor(['--json', '-'], input).done;
    expect(code).toBe(0);
    expect(stderr).toContain('line 3: date "yesterday" is not unix seconds\n');
    expect(stderr).toContain('line 4: expected 7 CSV fields, found 1\n');
    expect(stderr).toContain('monitor: 5 lines read (csv), 2 records, 2 bad lines skipped, 1 header line');
    expect(jsonLines(stdout).map((d) => [d.type, d.time, d.requests])).toEqual([['stats', T + 2, 2]]);
  });

  it('detects Common/Combined Log Format', async () => {
    const clf = [
      '10.0.0.1 - - [14/Nov/2023:22:13:21 +0000] "GET /api/a HTTP/1.1" 200 10 "-" "curl/8"',
      '10.0.0.2 - - [14/Nov/2023:22:13:25 +0000] "GET /shop/b HTTP/1.1" 503 20 "-" "curl/8"',
      '10.0.0.2 - - [14/Nov/2023:22:13:35 +0000] "GET /api/c HTTP/1.1" 404 - "-" "curl/8"',
    ].join('\n');
    const { code, stdout, stderr } = await monitor(['--json', '-'], clf).done;
    expect(code).toBe(0);
    expect(jsonLines(stdout).map((d) => [d.time, d.requests])).toEqual([
      [T + 10, 2],
      [T + 15, 1],
    ]);
    expect(stderr).toContain('3 lines read (clf), 3 records, 0 bad lines skipped');
  });

  it('refuses bad flags with status 2 and a missing file with status 1', async () => {
    const bad = await monitor(['--window', '0', SAMPLE]).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--window must be at least 1');
    const missing = await monitor([join(tmpdir(), 'no-such-vigil-log.csv')]).done;
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file');
  });
});

describe('vigil monitor --follow', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-monitor-follow-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads lines as they are appended, keeps the lines written to the old file after a rotation, and goes on with the new file', async () => {
    const T = 1_700_000_000;
    const file = join(dir, 'access.csv');
    writeFileSync(file, HEADER + '\n' + row(T + 1).repeat(3));
    const run = monitor(['--follow', '--json', '--window', '10', '--threshold', '0.5', file]);
    try {
      // Appended lines: the watermark (T+16 - 5 s) passes T+10, so its stats and the checks up to it come out.
      await new Promise((r) => setTimeout(r, 300));
      appendFileSync(file, row(T + 9).repeat(3));
      appendFileSync(file, row(T + 16));
      await run.waitFor(`"type":"stats","time":${T + 10},`);

      // Rotation as logrotate does it: rename, the writer finishes its lines in the old file, a new file starts.
      renameSync(file, `${file}.1`);
      appendFileSync(`${file}.1`, row(T + 18, '/old/file').repeat(2));
      await new Promise((r) => setTimeout(r, 600));
      writeFileSync(file, HEADER + '\n' + row(T + 25, '/new/file') + row(T + 40, '/new/file'));
      await run.waitFor(`"type":"stats","time":${T + 30},`);
    } finally {
      run.child.kill('SIGTERM');
    }
    const { code, stdout, stderr } = await run.done;
    expect(code).toBe(0);
    const out = jsonLines(stdout);
    expect(out.map((d) => [d.type, d.time, d.type === 'stats' ? d.requests : d.hits])).toEqual([
      ['alert', T + 9, 6],
      ['stats', T + 10, 6],
      ['recover', T + 11, 3],
      ['alert', T + 18, 6], // the two T+18 lines written to the rotated file count
      ['recover', T + 19, 3],
      ['stats', T + 20, 3], // T+16 and the two T+18 lines
      ['stats', T + 30, 1],
      ['stats', T + 40, 1], // the last interval, finished when the monitor was stopped
    ]);
    expect(stdout).toContain('"section":"/old"');
    expect(stdout).toContain('"section":"/new"');
    expect(stderr).toContain('was rotated');
    expect(stderr).toContain('11 records, 0 bad lines skipped, 2 header lines');
  });

  it('needs a file', async () => {
    const { code, stderr } = await monitor(['--follow', '-']).done;
    expect(code).toBe(2);
    expect(stderr).toContain('--follow needs a FILE');
  });
});
