import { Cron } from 'croner';
import cronstrue from 'cronstrue';
import { invalidField } from '../../platform/errors.js';

/** The part of a check that says when it is expected to ping. */
export interface Schedule {
  kind: 'simple' | 'cron';
  /** simple: expected period between pings, in seconds */
  timeoutS: number;
  graceS: number;
  /** cron: five- or six-field expression, evaluated in `tz` */
  schedule: string;
  tz: string;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Throws a 400 naming the field when the cron expression or time zone is invalid. */
export function validateCron(expression: string, tz: string): void {
  if (!isValidTimeZone(tz)) throw invalidField('tz', `unknown time zone "${tz}"; use an IANA name such as "Europe/Paris" or "UTC"`);
  try {
    const cron = new Cron(expression, { timezone: tz, paused: true });
    if (!cron.nextRun(new Date())) throw new Error('it never fires');
  } catch (error) {
    throw invalidField('schedule', `invalid cron expression "${expression}": ${(error as Error).message.replace(/^CronPattern: /, '')}`);
  }
}

/** When the next ping is due after a ping at `after` (wall-clock UTC; cron in the check's time zone, DST-correct). */
export function nextExpectedAt(schedule: Schedule, after: Date): Date {
  if (schedule.kind === 'simple') return new Date(after.getTime() + schedule.timeoutS * 1000);
  const next = new Cron(schedule.schedule, { timezone: schedule.tz, paused: true }).nextRun(after);
  // A valid expression that never fires again (e.g. a past date) is treated as "never due".
  return next ?? new Date(8.64e15);
}

/** Deadlines after a successful or failed completion at `at`: late when due, down after the grace. */
export function deadlinesAfter(schedule: Schedule, at: Date): { lateAt: Date; downAt: Date } {
  const lateAt = nextExpectedAt(schedule, at);
  return { lateAt, downAt: new Date(lateAt.getTime() + schedule.graceS * 1000) };
}

/** The schedule in words, for the dashboard: "every 5 minutes", "At 02:00 AM, Monday through Friday (Europe/Paris)". */
export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === 'simple') return `every ${describeDuration(schedule.timeoutS)}, ${describeDuration(schedule.graceS)} grace`;
  let words: string;
  try {
    words = cronstrue.toString(schedule.schedule, { use24HourTimeFormat: true, verbose: false });
  } catch {
    words = schedule.schedule;
  }
  return `${words} (${schedule.tz}), ${describeDuration(schedule.graceS)} grace`;
}

const UNITS: [number, string][] = [
  [86400 * 7, 'week'],
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** 90 → "1 minute 30 seconds", 3600 → "1 hour". */
export function describeDuration(seconds: number): string {
  if (seconds <= 0) return '0 seconds';
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [size, name] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
      rest -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
