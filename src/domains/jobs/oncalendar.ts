/**
 * systemd OnCalendar expressions (systemd.time(7), "Calendar events"), which Healthchecks accepts as
 * a check's schedule alongside cron: `Mon..Fri 09:00`, `*-*-1 02:30 Europe/Paris`, `*:0/15`,
 * `daily`, `Mon *-05~07/1` (last Monday of May), several expressions on separate lines.
 *
 * No npm package parses these (checked), so this is a small pure implementation: `parseOnCalendar`
 * turns text into sets of allowed values, `nextOnCalendar` finds the next instant after a given one.
 * Both follow systemd itself (the tests compare with `systemd-analyze calendar` where it exists):
 * - wall-clock times are in the expression's own zone, else the check's zone;
 * - a local time that does not exist (the hour skipped when clocks spring forward) is skipped;
 * - a local time that exists twice (clocks fall back) fires once, at the first instant after the
 *   previous event, and local time only moves forward (as systemd, which is what runs the jobs).
 * Not supported, with an error saying so: fractional seconds and `@epoch` timestamps.
 */

export class OnCalendarError extends Error {}

const fail = (message: string): never => {
  throw new OnCalendarError(message);
};

/** Years systemd accepts; a schedule with no event before MAX_YEAR never fires. */
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

interface FieldDef {
  name: string;
  min: number;
  max: number;
}
const YEAR: FieldDef = { name: 'year', min: MIN_YEAR, max: MAX_YEAR };
const MONTH: FieldDef = { name: 'month', min: 1, max: 12 };
const DAY: FieldDef = { name: 'day', min: 1, max: 31 };
const HOUR: FieldDef = { name: 'hour', min: 0, max: 23 };
const MINUTE: FieldDef = { name: 'minute', min: 0, max: 59 };
const SECOND: FieldDef = { name: 'second', min: 0, max: 59 };

/** One comma-separated item: `a`, `a..b`, `a/step` or `a..b/step`. */
interface Item {
  start: number;
  end: number | null;
  step: number | null;
}

/** Days counted from the end of the month (`~`): resolved per month, since months differ in length. */
interface ReverseDays {
  items: Item[];
}

export interface CalendarEvent {
  /** ISO weekdays allowed (1 = Monday … 7 = Sunday); null: any. */
  weekdays: Set<number> | null;
  /** Allowed values, ascending; null: any. */
  years: number[] | null;
  months: number[] | null;
  /** Days of the month counted from the start, or from the end with `~`; null: any. */
  days: number[] | ReverseDays | null;
  hours: number[];
  minutes: number[];
  seconds: number[];
  /** The expression's own IANA zone, if it names one. */
  tz: string | null;
  /** The normalised form, close to what `systemd-analyze calendar` prints. */
  normalized: string;
  /** The year component as written (normalised), for words: "2024/2". */
  yearText: string;
}

export interface OnCalendarSchedule {
  /** One event per line of the schedule; the schedule fires whenever any of them does. */
  events: CalendarEvent[];
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const WEEKDAY_SHORT = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function weekdayNumber(name: string): number {
  const lower = name.toLowerCase();
  const index = WEEKDAYS.findIndex((full) => full === lower || full.slice(0, 3) === lower);
  if (index < 0) fail(`"${name}" is not a day of the week (use Mon, Tue, … or Monday, Tuesday, …)`);
  return index + 1;
}

function parseWeekdays(token: string): Set<number> {
  // systemd accepts a trailing comma after the weekdays ("Mon, 12:34").
  const text = token.endsWith(',') ? token.slice(0, -1) : token;
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const range = part.split(/\.\.|-/);
    if (range.length > 2 || range.some((r) => r === '')) fail(`bad day-of-week "${part}"`);
    const from = weekdayNumber(range[0]!);
    const to = range.length === 2 ? weekdayNumber(range[1]!) : from;
    if (to < from) fail(`bad day-of-week range "${part}": it must go forward from Monday to Sunday (e.g. Mon..Fri)`);
    for (let d = from; d <= to; d++) days.add(d);
  }
  return days;
}

function parseNumber(text: string, field: FieldDef): number {
  if (!/^\d{1,4}$/.test(text)) {
    if (field === SECOND && /^\d+\.\d*$/.test(text)) fail('fractional seconds are not supported');
    fail(`bad ${field.name} "${text}"`);
  }
  let value = Number(text);
  // Two-digit years as systemd reads them: 70–99 → 1970–1999, 00–69 → 2000–2069.
  if (field === YEAR && text.length <= 2) value += value >= 70 ? 1900 : 2000;
  if (value < field.min || value > field.max) fail(`${field.name} ${text} is out of range (${field.min}–${field.max})`);
  return value;
}

function parseItems(text: string, field: FieldDef, reverse = false): Item[] {
  if (text === '') fail(`empty ${field.name}`);
  return text.split(',').map((part) => {
    const [range, stepText, ...extra] = part.split('/');
    if (extra.length || range === undefined || range === '') fail(`bad ${field.name} "${part}"`);
    const [startText, endText, ...more] = range!.split('..');
    if (more.length) fail(`bad ${field.name} range "${range}"`);
    const start = parseNumber(startText!, field);
    const end = endText === undefined ? null : parseNumber(endText, field);
    if (end !== null && end < start) fail(`bad ${field.name} range "${range}": the start must not be after the end`);
    let step: number | null = null;
    if (stepText !== undefined) {
      if (!/^\d{1,4}$/.test(stepText)) fail(`bad ${field.name} repetition "/${stepText}"`);
      step = Number(stepText);
      if (step < 1 || step > field.max) fail(`${field.name} repetition "/${stepText}" is out of range (1–${field.max})`);
      // As systemd: "a/step" must repeat at least once within the field (12/12 for hours never
      // does; counted from the end of the month, ~1/1 never does either).
      if (end === null && (reverse ? start - step < 1 : start + step > field.max)) fail(`${field.name} "${part}" never repeats; write ${startText} alone`);
    }
    return { start, end, step };
  });
}

/** Expands items into the ascending list of values they allow (forward fields). */
function expand(items: Item[], field: FieldDef): number[] {
  const values = new Set<number>();
  for (const { start, end, step } of items) {
    const last = end ?? (step === null ? start : field.max);
    for (let v = start; v <= last; v += step ?? 1) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function parseField(text: string, field: FieldDef): number[] | null {
  return text === '*' ? null : expand(parseItems(text, field), field);
}

/** A component as systemd normalises it: values zero-padded, ranges and repetitions kept. */
function componentText(text: string, field: FieldDef, reverse = false): string {
  return text === '*' ? '*' : itemText(parseItems(text, field, field === DAY && reverse), field === YEAR ? 4 : 2);
}

/**
 * Days counted from the end (`~`), as systemd reads them: `~a` is the a-th last day, `~a..b` the
 * a-th to b-th last days, `~a..b/n` every n-th of those from the a-th last, and `~a/n` the a-th last
 * day and every n-th day after it up to the last (~7/2: days L-6, L-4, L-2, L).
 */
function reverseDaysIn(spec: ReverseDays, lastDay: number): Set<number> {
  const days = new Set<number>();
  const add = (offset: number) => {
    if (offset <= lastDay) days.add(lastDay - offset + 1);
  };
  for (const { start, end, step } of spec.items) {
    if (step === null) for (let o = start; o <= (end ?? start); o++) add(o);
    else if (end !== null) for (let o = start; o <= end; o += step) add(o);
    else for (let o = start; o >= 1; o -= step) add(o);
  }
  return days;
}

function parseDate(token: string): Pick<CalendarEvent, 'years' | 'months' | 'days'> & { text: string } {
  const tilde = token.split('~');
  if (tilde.length > 2) fail(`bad date "${token}"`);
  const parts = tilde[0]!.split('-');
  const reverse = tilde.length === 2;
  // Y-M-D, or M-D (any year); with `~`, Y-M~D or M~D.
  const expected = reverse ? [1, 2] : [2, 3];
  if (!expected.includes(parts.length)) fail(`bad date "${token}": write year-month-day, month-day, or month~day for days from the end of the month`);
  const dayText = reverse ? tilde[1]! : parts.pop()!;
  const [yearText, monthText] = parts.length === 2 ? parts : ['*', parts[0]!];
  const years = parseField(yearText!, YEAR);
  const months = parseField(monthText!, MONTH);
  let days: CalendarEvent['days'];
  if (reverse) {
    if (dayText === '*') fail(`bad date "${token}": "~" needs a number of days from the end of the month`);
    days = { items: parseItems(dayText, DAY, true) };
  } else days = parseField(dayText, DAY);
  const text = `${componentText(yearText!, YEAR)}-${componentText(monthText!, MONTH)}${reverse ? '~' : '-'}${componentText(dayText, DAY, reverse)}`;
  return { years, months, days, text };
}

function parseTime(token: string): Pick<CalendarEvent, 'hours' | 'minutes' | 'seconds'> & { text: string } {
  const parts = token.split(':');
  if (parts.length < 2 || parts.length > 3) fail(`bad time "${token}": write hour:minute or hour:minute:second`);
  const all = (f: FieldDef) => expand([{ start: f.min, end: f.max, step: null }], f);
  const field = (text: string, f: FieldDef) => parseField(text, f) ?? all(f);
  const text = `${componentText(parts[0]!, HOUR)}:${componentText(parts[1]!, MINUTE)}:${parts[2] === undefined ? '00' : componentText(parts[2], SECOND)}`;
  return { hours: field(parts[0]!, HOUR), minutes: field(parts[1]!, MINUTE), seconds: parts[2] === undefined ? [0] : field(parts[2], SECOND), text };
}

const SHORTHANDS: Record<string, string> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  yearly: '*-01-01 00:00:00',
  annually: '*-01-01 00:00:00',
  quarterly: '*-01,04,07,10-01 00:00:00',
  semiannually: '*-01,07-01 00:00:00',
};

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

function itemText(items: Item[], width: number): string {
  return items
    .map(({ start, end, step }) => `${String(start).padStart(width, '0')}${end !== null ? `..${String(end).padStart(width, '0')}` : ''}${step !== null ? `/${step}` : ''}`)
    .join(',');
}

/** Compresses ascending values into systemd's notation: 1,2,3,5 → 01..03,05. */
function listText(values: number[] | null, width = 2): string {
  if (values === null) return '*';
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    const a = String(values[i]).padStart(width, '0');
    const b = String(values[j]).padStart(width, '0');
    parts.push(j >= i + 2 ? `${a}..${b}` : j === i + 1 ? `${a},${b}` : a);
    i = j + 1;
  }
  return parts.join(',');
}

function weekdayText(days: Set<number>): string {
  const sorted = [...days].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const a = WEEKDAY_SHORT[sorted[i]! - 1]!;
    const b = WEEKDAY_SHORT[sorted[j]! - 1]!;
    parts.push(j >= i + 2 ? `${a}..${b}` : j === i + 1 ? `${a},${b}` : a);
    i = j + 1;
  }
  return parts.join(',');
}

const fullRange = (values: number[], f: FieldDef) => values.length === f.max - f.min + 1;

function parseEvent(line: string): CalendarEvent {
  const tokens = line.trim().split(/\s+/).filter(Boolean);
  if (tokens.length === 0) fail('empty expression');
  if (tokens[0]!.startsWith('@')) fail('"@" timestamps (one single event) are not supported for a schedule');

  let tz: string | null = null;
  const last = tokens[tokens.length - 1]!;
  if (tokens.length > 1 && /^[A-Za-z]/.test(last) && !isWeekdayToken(last)) {
    if (!isValidTimeZone(last)) fail(`unknown time zone "${last}"; use an IANA name such as "Europe/Paris" or "UTC"`);
    tz = last.toUpperCase() === 'UTC' ? 'UTC' : last;
    tokens.pop();
  }

  // Own keys only: "__proto__" or "constructor" must not find the object's prototype members.
  const key = tokens.length === 1 ? tokens[0]!.toLowerCase() : undefined;
  const shorthand = key !== undefined && Object.hasOwn(SHORTHANDS, key) ? SHORTHANDS[key] : undefined;
  const words = shorthand ? shorthand.split(' ') : tokens;

  let weekdays: Set<number> | null = null;
  if (/^[A-Za-z]/.test(words[0]!)) {
    weekdays = parseWeekdays(words.shift()!);
    if (weekdays.size === 7) weekdays = null;
  }
  if (words.length > 2) fail(`too many parts in "${line.trim()}": write [weekdays] [date] [time] [time zone]`);
  let dateToken: string | undefined;
  let timeToken: string | undefined;
  for (const word of words) {
    if (word.includes(':')) {
      if (timeToken !== undefined) fail(`two times in "${line.trim()}"`);
      timeToken = word;
    } else {
      if (dateToken !== undefined || timeToken !== undefined) fail(`bad part "${word}": the date comes before the time`);
      if (!/[-~]/.test(word)) fail(`bad part "${word}": a date is year-month-day (e.g. 2024-*-01), a time is hour:minute (e.g. 09:00)`);
      dateToken = word;
    }
  }
  if (weekdays === null && dateToken === undefined && timeToken === undefined && !/^[A-Za-z]/.test(tokens[0]!)) fail(`bad expression "${line.trim()}"`);

  const date = dateToken === undefined ? { years: null, months: null, days: null, text: '*-*-*' } : parseDate(dateToken);
  const time = timeToken === undefined ? { hours: [0], minutes: [0], seconds: [0], text: '00:00:00' } : parseTime(timeToken);
  const months = date.months && fullRange(date.months, MONTH) ? null : date.months;
  const days = Array.isArray(date.days) && fullRange(date.days, DAY) ? null : date.days;
  const normalized = [weekdays ? weekdayText(weekdays) : '', date.text, time.text, tz ?? ''].filter(Boolean).join(' ');
  const { hours, minutes, seconds } = time;
  return { weekdays, years: date.years, months, days, hours, minutes, seconds, tz, normalized, yearText: date.text.split('-')[0]! };
}

function isWeekdayToken(token: string): boolean {
  try {
    parseWeekdays(token);
    return true;
  } catch {
    return false;
  }
}

/** Parses one or more OnCalendar expressions (one per line). Throws OnCalendarError naming what is wrong. */
export function parseOnCalendar(expression: string): OnCalendarSchedule {
  const lines = expression.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) fail('empty expression');
  return {
    events: lines.map((line, i) => {
      try {
        return parseEvent(line);
      } catch (error) {
        if (error instanceof OnCalendarError && lines.length > 1) throw new OnCalendarError(`line ${i + 1}: ${error.message}`);
        throw error;
      }
    }),
  };
}

// ---- evaluation ------------------------------------------------------------------------------

/** A wall-clock time, fields as people write them (month 1–12). */
interface Local {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall-clock time in `tz` at instant `ms` (whole seconds). */
function localAt(ms: number, tz: string): Local {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, mo: parts.month!, d: parts.day!, h: parts.hour!, mi: parts.minute!, s: parts.second! };
}

const asUtc = (t: Local) => Date.UTC(t.y, t.mo - 1, t.d, t.h, t.mi, t.s);

/** Offset of `tz` from UTC at instant `ms`, in ms. */
const offsetAt = (ms: number, tz: string) => asUtc(localAt(ms, tz)) - Math.floor(ms / 1000) * 1000;

/** Every instant whose wall-clock time in `tz` is `t`: none in a spring-forward gap, two in a fall-back overlap. */
function instantsOf(t: Local, tz: string): number[] {
  const naive = asUtc(t);
  const offsets = new Set([offsetAt(naive - 86_400_000, tz), offsetAt(naive, tz), offsetAt(naive + 86_400_000, tz)]);
  const found = [...offsets].map((o) => naive - o).filter((ms) => asUtc(localAt(ms, tz)) === naive);
  return [...new Set(found)].sort((a, b) => a - b);
}

const daysInMonth = (y: number, mo: number) => new Date(Date.UTC(y, mo, 0)).getUTCDate();
const isoWeekday = (y: number, mo: number, d: number) => ((new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 6) % 7) + 1;

/** The first allowed value ≥ from, or undefined. */
const firstFrom = (values: number[], from: number) => values.find((v) => v >= from);

/** The earliest time of day (h, mi, s) ≥ the given one that the event allows. */
function timeFrom(e: CalendarEvent, h0: number, mi0: number, s0: number): [number, number, number] | undefined {
  for (const h of e.hours) {
    if (h < h0) continue;
    for (const mi of e.minutes) {
      if (h === h0 && mi < mi0) continue;
      const s = firstFrom(e.seconds, h === h0 && mi === mi0 ? s0 : 0);
      if (s !== undefined) return [h, mi, s];
    }
  }
  return undefined;
}

/** The earliest wall-clock time strictly after `from` that the event matches (whether or not it exists in a zone). */
function nextLocal(e: CalendarEvent, from: Local): Local | null {
  const next = new Date(asUtc(from) + 1000);
  const start: Local = { y: next.getUTCFullYear(), mo: next.getUTCMonth() + 1, d: next.getUTCDate(), h: next.getUTCHours(), mi: next.getUTCMinutes(), s: next.getUTCSeconds() };
  for (let y = start.y; y <= MAX_YEAR; y++) {
    if (e.years && !e.years.includes(y)) continue;
    for (let mo = y === start.y ? start.mo : 1; mo <= 12; mo++) {
      if (e.months && !e.months.includes(mo)) continue;
      const last = daysInMonth(y, mo);
      const allowed = e.days === null ? null : Array.isArray(e.days) ? new Set(e.days) : reverseDaysIn(e.days, last);
      const inStartMonth = y === start.y && mo === start.mo;
      for (let d = inStartMonth ? start.d : 1; d <= last; d++) {
        if (allowed && !allowed.has(d)) continue;
        if (e.weekdays && !e.weekdays.has(isoWeekday(y, mo, d))) continue;
        const time = inStartMonth && d === start.d ? timeFrom(e, start.h, start.mi, start.s) : timeFrom(e, 0, 0, 0);
        if (time) return { y, mo, d, h: time[0], mi: time[1], s: time[2] };
      }
    }
  }
  return null;
}

/** The first instant strictly after `after` at which one event fires, in its zone (or `tz`). */
function nextEvent(e: CalendarEvent, after: Date, tz: string): Date | null {
  const zone = e.tz ?? tz;
  const afterMs = Math.floor(after.getTime() / 1000) * 1000;
  let from = localAt(afterMs, zone);
  // Bounded: each step moves the wall clock forward; only gaps and overlaps need more than one.
  for (let i = 0; i < 10_000; i++) {
    const candidate = nextLocal(e, from);
    if (!candidate) return null;
    const instant = instantsOf(candidate, zone).find((ms) => ms > afterMs);
    if (instant !== undefined) return new Date(instant);
    from = candidate;
  }
  return null;
}

/** When the schedule next fires strictly after `after`; `tz` is the zone of expressions that name none. Null: never again. */
export function nextOnCalendar(schedule: OnCalendarSchedule, after: Date, tz: string): Date | null {
  let best: Date | null = null;
  for (const e of schedule.events) {
    const next = nextEvent(e, after, tz);
    if (next && (!best || next < best)) best = next;
  }
  return best;
}

// ---- words -----------------------------------------------------------------------------------

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const joinWords = (words: string[]) => (words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`);
const ordinal = (n: number) => `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;

/** Evenly spaced values from the field's minimum (0/15 → 15): the step, else null. */
function stepOf(values: number[], f: FieldDef): number | null {
  if (values.length < 2 || values[0] !== f.min) return null;
  const step = values[1]! - values[0]!;
  const even = values.every((v, i) => v === f.min + i * step);
  return even && values[values.length - 1]! + step > f.max ? step : null;
}

function timeWords(e: CalendarEvent): string {
  const { hours, minutes, seconds } = e;
  const onTheMinute = seconds.length === 1 && seconds[0] === 0;
  if (onTheMinute && hours.length * minutes.length <= 4) return `at ${joinWords(hours.flatMap((h) => minutes.map((m) => `${pad(h)}:${pad(m)}`)))}`;
  if (seconds.length === 1 && hours.length * minutes.length === 1) return `at ${pad(hours[0]!)}:${pad(minutes[0]!)}:${pad(seconds[0]!)}`;
  const parts: string[] = [];
  const secondStep = stepOf(seconds, SECOND);
  if (fullRange(seconds, SECOND)) parts.push('every second');
  else if (secondStep) parts.push(`every ${secondStep} seconds`);
  else if (!onTheMinute) parts.push(`at second ${listText(seconds, 1)}`);
  const minuteStep = stepOf(minutes, MINUTE);
  if (fullRange(minutes, MINUTE)) {
    if (onTheMinute) parts.push('every minute');
  } else if (minuteStep) parts.push(`every ${minuteStep} minutes`);
  else parts.push(`at minute ${listText(minutes, 1)}${fullRange(hours, HOUR) ? ' of every hour' : ''}`);
  if (!fullRange(hours, HOUR)) {
    const contiguous = hours.every((h, i) => i === 0 || h === hours[i - 1]! + 1);
    const hourStep = stepOf(hours, HOUR);
    if (contiguous) parts.push(`between ${pad(hours[0]!)}:00 and ${pad(hours[hours.length - 1]!)}:59`);
    else if (hourStep) parts.push(`every ${hourStep} hours`);
    else parts.push(`during hours ${listText(hours, 1)}`);
  }
  return parts.join(' ');
}

function weekdayWords(days: Set<number>): string {
  const sorted = [...days].sort((a, b) => a - b);
  const contiguous = sorted.every((d, i) => i === 0 || d === sorted[i - 1]! + 1);
  if (contiguous && sorted.length >= 3) return `${DAY_NAMES[sorted[0]! - 1]} through ${DAY_NAMES[sorted[sorted.length - 1]! - 1]}`;
  return joinWords(sorted.map((d) => DAY_NAMES[d - 1]!));
}

function dateWords(e: CalendarEvent): string[] {
  const words: string[] = [];
  if (e.days !== null) {
    if (Array.isArray(e.days)) words.push(`on the ${joinWords(e.days.map(ordinal))}`);
    else {
      const only = e.days.items.length === 1 ? e.days.items[0]! : null;
      if (only && only.end === null && only.step === null) words.push(only.start === 1 ? 'on the last day' : `on the ${ordinal(only.start)} last day`);
      else if (only && only.end === null && only.step === 1) words.push(`in the last ${only.start} days`);
      else words.push(`on days ~${itemText(e.days.items, 1)} (from the end)`);
    }
    if (e.months === null) words[words.length - 1] += ' of the month';
  }
  if (e.months !== null) words.push(`in ${joinWords(e.months.map((m) => MONTH_NAMES[m - 1]!))}`);
  if (e.years !== null) words.push(e.years.length === 1 ? `in ${e.years[0]}` : `in the years ${e.yearText}`);
  return words;
}

/** One event in words: "at 09:00, Monday through Friday", "every 15 minutes", "at 00:00, on the last day of the month". */
export function describeEvent(e: CalendarEvent): string {
  const parts = [timeWords(e)];
  if (e.weekdays) parts.push(weekdayWords(e.weekdays));
  parts.push(...dateWords(e));
  const text = parts.join(', ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${e.tz ? ` (${e.tz})` : ''}`;
}

/** The whole schedule in words; several events are joined with "; ". */
export function describeOnCalendar(schedule: OnCalendarSchedule): string {
  return schedule.events.map(describeEvent).join('; ');
}
