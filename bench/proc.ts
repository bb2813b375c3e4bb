/**
 * What a server process costs, read from /proc (Linux): resident memory and CPU time. The bench
 * reads another process (vigil, influxd, PostgreSQL backends), so process.memoryUsage() will not do.
 */
import { readdir, readFile } from 'node:fs/promises';

/** Kilobytes from a `/proc/<pid>/status` line such as `VmHWM:  123456 kB`. */
export async function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : undefined;
}

/**
 * CPU seconds (user + system) a process has used, from `/proc/<pid>/stat` (in USER_HZ ticks, 100 on
 * Linux). On a machine shared with other work, events per server CPU-second says more than events/s.
 */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  return cpuSecondsOfStat(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''));
}

/** CPU seconds from the text of a `/proc/<pid>/stat`. */
function cpuSecondsOfStat(stat: string): number | undefined {
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / 100 : undefined;
}

export interface RssWatch {
  /** The highest RSS seen so far, in kB (sampled every 250 ms). */
  peakKb(): number;
  stop(): void;
}

/** Samples a process's RSS every 250 ms, keeping the highest. */
export function watchRss(pid: number): RssWatch {
  let peak = 0;
  const timer = setInterval(() => void procStatusKb(pid, 'VmRSS').then((kb) => (peak = Math.max(peak, kb ?? 0))), 250);
  return { peakKb: () => peak, stop: () => clearInterval(timer) };
}

/**
 * CPU seconds used so far by every process whose command name is `name` (e.g. all of PostgreSQL's
 * backends and helpers), for a delta over a window: which of the server and the database a
 * benchmark's time went to. Processes that ended within the window are not counted.
 */
export async function cpuSecondsOfCommand(name: string): Promise<number> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((e) => /^\d+$/.test(e));
  let total = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const open = stat.indexOf('(');
    if (open < 0 || stat.slice(open + 1, stat.lastIndexOf(')')) !== name) continue;
    total += cpuSecondsOfStat(stat) ?? 0;
  }
  return total;
}
