import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../platform/errors.js';
import { deadlinesAfter, describeDuration, describeSchedule, nextExpectedAt, scheduleSyntax, validateCron, validateSchedule, type Schedule } from './schedule.js';

const cron = (schedule: string, tz: string, graceS = 60): Schedule => ({ kind: 'cron', schedule, tz, timeoutS: 0, graceS });

describe('simple schedules', () => {
  it('expects the next ping one period after the last, down after the grace', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const { lateAt, downAt } = deadlinesAfter({ kind: 'simple', timeoutS: 2, graceS: 1, schedule: '', tz: 'UTC' }, at);
    expect(lateAt.toISOString()).toBe('2026-01-01T00:00:02.000Z');
    expect(downAt.toISOString()).toBe('2026-01-01T00:00:03.000Z');
  });
});

describe('cron schedules across DST changes', () => {
  it('keeps 09:00 New York local time when clocks spring forward (UTC shifts from 14:00 to 13:00)', () => {
    const s = cron('0 9 * * *', 'America/New_York');
    const before = nextExpectedAt(s, new Date('2026-03-07T14:00:00Z')); // Sat 09:00 EST
    expect(before.toISOString()).toBe('2026-03-08T13:00:00.000Z'); // Sun 09:00 EDT
    expect(nextExpectedAt(s, before).toISOString()).toBe('2026-03-09T13:00:00.000Z');
  });
  it('keeps 09:00 New York local time when clocks fall back', () => {
    const s = cron('0 9 * * *', 'America/New_York');
    expect(nextExpectedAt(s, new Date('2026-10-31T13:00:00Z')).toISOString()).toBe('2026-11-01T14:00:00.000Z');
  });
  it('runs a job scheduled in the skipped hour at the end of the gap (02:30 Berlin on spring-forward day → 03:00 CEST)', () => {
    const s = cron('30 2 * * *', 'Europe/Berlin');
    expect(nextExpectedAt(s, new Date('2026-03-28T12:00:00Z')).toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });
  it('runs a job in the repeated hour once on fall-back day', () => {
    const s = cron('30 2 * * *', 'Europe/Berlin');
    const first = nextExpectedAt(s, new Date('2026-10-24T12:00:00Z'));
    expect(first.toISOString()).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
    expect(nextExpectedAt(s, first).toISOString()).toBe('2026-10-26T01:30:00.000Z'); // next day 02:30 CET
  });
  it('adds the grace to the cron deadline', () => {
    const { downAt } = deadlinesAfter(cron('*/5 * * * *', 'UTC', 120), new Date('2026-01-01T00:01:00Z'));
    expect(downAt.toISOString()).toBe('2026-01-01T00:07:00.000Z');
  });
});

const fieldOf = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return ((error as DomainError).details as { field: string }[])[0]?.field;
  }
  return undefined;
};

describe('validation names the field', () => {
  it('rejects a bad expression as schedule', () => expect(fieldOf(() => validateCron('61 * * * *', 'UTC'))).toBe('schedule'));
  it('rejects a bad time zone as tz', () => expect(fieldOf(() => validateCron('* * * * *', 'Mars/Olympus'))).toBe('tz'));
  it('accepts a valid pair', () => expect(fieldOf(() => validateCron('0 2 * * 1-5', 'Europe/Paris'))).toBeUndefined());
});

const messageOf = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return (error as DomainError).message;
  }
  return undefined;
};

describe('cron has five fields, as documented; anything else is OnCalendar (Healthchecks\' rule)', () => {
  it('tells the syntaxes apart', () => {
    expect(scheduleSyntax('0 9 * * 1-5')).toBe('cron');
    expect(scheduleSyntax('Mon..Fri 09:00')).toBe('oncalendar');
    expect(scheduleSyntax('daily')).toBe('oncalendar');
    expect(scheduleSyntax('0 9 * * *\n0 10 * * *')).toBe('oncalendar');
  });
  it('refuses six-field (seconds) cron with the reason', () => {
    expect(messageOf(() => validateSchedule('0 0 9 * * *', 'UTC'))).toMatch(/has six fields: a cron expression has five/);
    expect(messageOf(() => validateCron('0 0 9 * * *', 'UTC'))).toMatch(/it has 6 fields; a cron expression has five/);
  });
  it('accepts OnCalendar schedules and refuses bad ones naming the schedule field', () => {
    expect(fieldOf(() => validateSchedule('Mon..Fri 09:00', 'Europe/Paris'))).toBeUndefined();
    expect(fieldOf(() => validateSchedule('Mon..Fri 25:00', 'UTC'))).toBe('schedule');
    expect(messageOf(() => validateSchedule('Mon..Fri 25:00', 'UTC'))).toMatch(/neither a five-field cron expression nor a valid OnCalendar expression: hour 25 is out of range/);
    expect(messageOf(() => validateSchedule('2020-01-01 00:00', 'UTC'))).toMatch(/never fires again/);
  });
  it('follows an OnCalendar schedule in the check\'s zone, DST-correct', () => {
    const s = cron('Mon..Fri 09:00', 'America/New_York');
    expect(nextExpectedAt(s, new Date('2026-03-06T14:00:00Z')).toISOString()).toBe('2026-03-09T13:00:00.000Z'); // Fri EST → Mon EDT
  });
  it('still reads a six-field cron stored before five fields were enforced', () => {
    expect(nextExpectedAt(cron('30 0 9 * * *', 'UTC'), new Date('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-01T09:00:30.000Z');
  });
  it('describes OnCalendar schedules in words with the zone', () => {
    expect(describeSchedule(cron('Mon..Fri 09:00', 'Europe/Paris', 600))).toBe('At 09:00, Monday through Friday (Europe/Paris), 10 minutes grace');
    expect(describeSchedule(cron('Mon..Fri 09:00 UTC', 'Europe/Paris', 600))).toBe('At 09:00, Monday through Friday (UTC), 10 minutes grace');
  });
});

describe('schedule in words', () => {
  it('describes periods', () => {
    expect(describeDuration(90)).toBe('1 minute 30 seconds');
    expect(describeDuration(86400)).toBe('1 day');
    expect(describeSchedule({ kind: 'simple', timeoutS: 300, graceS: 60, schedule: '', tz: 'UTC' })).toBe('every 5 minutes, 1 minute grace');
  });
  it('describes cron expressions with their zone', () => {
    expect(describeSchedule(cron('0 2 * * 1-5', 'Europe/Paris', 3600))).toBe('At 02:00, Monday through Friday (Europe/Paris), 1 hour grace');
  });
});
