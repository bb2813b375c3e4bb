import { Cron } from 'croner';
import cronstrue from 'cronstrue';
import { invalidField } from '../../platform/errors.js';
import { describeOnCalendar, isValidTimeZone, nextOnCalendar, OnCalendarError, parseOnCalendar, type OnCalendarSchedule } from './oncalendar.js';

export { isValidTimeZone };

/** The part of a check that says when it is expected to ping. */
export interface Schedule {
  kind: 'simple' | 'cron';
  /** simple: expected period between pings, in seconds */
  timeoutS: number;
  graceS: number;
  /** cron: a five-field cron expression or a systemd OnCalendar expression, evaluated in `tz` */
  schedule: string;
  tz: string;
}

/**
 * Which syntax a schedule is written in, by Healthchecks' rule: one line of exactly five fields is
 * cron; anything else (`Mon..Fri 09:00`, `daily`, several lines) is a systemd OnCalendar expression.
 */
export function scheduleSyntax(expression: string): 'cron' | 'oncalendar' {
  const text = expression.trim();
  return !text.includes('\n') && text.split(/\s+/).length === 5 ? 'cron' : 'oncalendar';
}

type Compiled = { next: (after: Date, tz: string) => Date | null; words: (tz: string) => string };

/** Compiled schedules by expression: parsing once, not on every ping. Bounded; cleared when full. */
const compiled = new Map<string, Compiled>();

function compileCron(expression: string): Compiled {
  return {
    next: (after, tz) => new Cron(expression, { timezone: tz, paused: true }).nextRun(after),
    words: (tz) => {
      try {
        return `${cronstrue.toString(expression, { use24HourTimeFormat: true, verbose: false })} (${tz})`;
      } catch {
        return `${expression} (${tz})`;
      }
    },
  };
}

function compileOnCalendar(parsed: OnCalendarSchedule): Compiled {
  const ownZones = parsed.events.every((e) => e.tz !== null);
  return { next: (after, tz) => nextOnCalendar(parsed, after, tz), words: (tz) => `${describeOnCalendar(parsed)}${ownZones ? '' : ` (${tz})`}` };
}

/** A stored schedule, compiled; never throws (a schedule stored before today's rules is read as cron). */
function compile(expression: string): Compiled {
  let c = compiled.get(expression);
  if (c) return c;
  if (scheduleSyntax(expression) === 'cron') c = compileCron(expression);
  else {
    try {
      c = compileOnCalendar(parseOnCalendar(expression));
    } catch {
      // Six-field cron (seconds first) was accepted before five fields were enforced.
      c = compileCron(expression);
    }
  }
  if (compiled.size >= 1000) compiled.clear();
  compiled.set(expression, c);
  return c;
}

const checkZone = (tz: string) => {
  if (!isValidTimeZone(tz)) throw invalidField('tz', `unknown time zone "${tz}"; use an IANA name such as "Europe/Paris" or "UTC"`);
};

/** Six cron-like fields: the seconds-first form some cron libraries take, which Vigil (as Healthchecks) does not. */
const looksLikeSixFieldCron = (expression: string) => {
  const tokens = expression.trim().split(/\s+/);
  return tokens.length === 6 && tokens.every((t) => /^[\d*,/?LW#-]+$/.test(t));
};

/** Throws a 400 naming `field` when a five-field cron expression or the time zone is invalid. */
export function validateCron(expression: string, tz: string, field = 'schedule'): void {
  checkZone(tz);
  if (scheduleSyntax(expression) !== 'cron') {
    const fields = expression.trim().split(/\s+/).length;
    throw invalidField(field, `invalid cron expression "${expression}": it has ${fields} field${fields === 1 ? '' : 's'}; a cron expression has five (minute hour day-of-month month day-of-week)`);
  }
  try {
    const cron = new Cron(expression, { timezone: tz, paused: true });
    if (!cron.nextRun(new Date())) throw new Error('it never fires');
  } catch (error) {
    throw invalidField(field, `invalid cron expression "${expression}": ${(error as Error).message.replace(/^CronPattern: /, '')}`);
  }
}

/** Throws a 400 naming the field when a check's schedule (cron or OnCalendar) or its time zone is invalid. */
export function validateSchedule(expression: string, tz: string): void {
  checkZone(tz);
  const now = new Date();
  if (scheduleSyntax(expression) === 'cron') return validateCron(expression, tz);
  if (looksLikeSixFieldCron(expression)) {
    throw invalidField('schedule', `"${expression}" has six fields: a cron expression has five (minute hour day-of-month month day-of-week); seconds are not supported`);
  }
  let parsed: OnCalendarSchedule;
  try {
    parsed = parseOnCalendar(expression);
  } catch (error) {
    if (!(error instanceof OnCalendarError)) throw error;
    throw invalidField('schedule', `"${expression}" is neither a five-field cron expression nor a valid OnCalendar expression: ${error.message}`);
  }
  if (!nextOnCalendar(parsed, now, tz)) throw invalidField('schedule', `invalid OnCalendar expression "${expression}": it never fires again`);
}

/** When the next ping is due after a ping at `after` (wall-clock UTC; the schedule in the check's time zone, DST-correct). */
export function nextExpectedAt(schedule: Schedule, after: Date): Date {
  if (schedule.kind === 'simple') return new Date(after.getTime() + schedule.timeoutS * 1000);
  const next = compile(schedule.schedule).next(after, schedule.tz);
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
  return `${compile(schedule.schedule).words(schedule.tz)}, ${describeDuration(schedule.graceS)} grace`;
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

/** What the check form shows while a schedule is typed: its syntax, the words, the next few times. Throws the validation error. */
export function previewSchedule(expression: string, tz: string, graceS = 0, now = new Date()): { syntax: 'cron' | 'oncalendar'; text: string; next: string[] } {
  validateSchedule(expression, tz);
  const schedule: Schedule = { kind: 'cron', schedule: expression, tz, timeoutS: 0, graceS };
  const next: string[] = [];
  let at = now;
  for (let i = 0; i < 3; i++) {
    at = nextExpectedAt(schedule, at);
    if (at.getTime() >= 8.64e15) break;
    next.push(at.toISOString());
  }
  const text = graceS > 0 ? describeSchedule(schedule) : compile(expression).words(tz);
  return { syntax: scheduleSyntax(expression), text, next };
}
