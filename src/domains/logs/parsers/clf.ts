import { excerpt, reject, type AccessRecord, type ParseResult } from './record.js';
import { parseRequestLine, sectionOf } from './request.js';

/**
 * Common Log Format and Combined Log Format (Apache, nginx):
 *
 *   127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
 *   127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326 "http://ref/" "Mozilla/5.0"
 *
 * Fields the server appends after these (nginx's request time, …) are ignored. Quoted fields may
 * hold backslash escapes (`\"`), as Apache and nginx write them.
 *
 * A fixed regex (no user-supplied pattern), linear: each quoted field is `(?:[^"\\]|\\.)*`, whose
 * alternatives cannot both match a character, and the other fields are runs of non-spaces.
 */
const CLF_LINE = /^(\S+) (\S+) (\S+) \[([^\]]{1,64})\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d{1,15}|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(?: .*)?$/;
const CLF_TIME = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;
const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** `10/Oct/2000:13:55:36 -0700` → unix seconds, or the reason it is not such a time. */
export function parseClfTime(text: string): number | string {
  const m = CLF_TIME.exec(text);
  if (m === null) return `time ${excerpt(text)} is not dd/Mon/yyyy:HH:MM:SS ±hhmm`;
  const month = MONTHS[m[2]!];
  if (month === undefined) return `time ${excerpt(text)} has an unknown month`;
  const [day, year, hour, minute, second, offH, offM] = [m[1], m[3], m[4], m[5], m[6], m[8], m[9]].map(Number) as [number, number, number, number, number, number, number];
  if (year < 1970 || hour > 23 || minute > 59 || second > 60 || offH > 14 || offM > 59) return `time ${excerpt(text)} is out of range`;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  // Date.UTC rolls 31/Feb over into March: a day that moved did not exist.
  if (day < 1 || new Date(ms).getUTCDate() !== day) return `time ${excerpt(text)} names a day that does not exist`;
  const offset = (offH * 60 + offM) * 60 * (m[7] === '-' ? -1 : 1);
  return ms / 1000 - offset;
}

export class ClfAccessLogParser {
  // Lines of one second share their time text: parse it once.
  private lastTimeText = '';
  private lastTime: number | string = '';

  parse(line: string): ParseResult {
    const m = CLF_LINE.exec(line);
    if (m === null) return reject('not a Common/Combined Log Format line');
    const timeText = m[4]!;
    if (timeText !== this.lastTimeText) {
      this.lastTime = parseClfTime(timeText);
      this.lastTimeText = timeText;
    }
    const time = this.lastTime;
    if (typeof time === 'string') return reject(time);
    const status = +m[6]!;
    if (status < 100 || status > 599) return reject(`status ${status} is outside 100–599`);
    const request = m[5]!;
    const req = parseRequestLine(request);
    if (typeof req === 'string') return reject(`${req}: ${excerpt(request)}`);
    const record: AccessRecord = {
      time,
      host: m[1]!,
      user: m[3]!,
      method: req.method,
      path: req.path,
      protocol: req.protocol,
      section: sectionOf(req.path),
      status,
      bytes: m[7] === '-' ? 0 : +m[7]!,
    };
    if (m[8] !== undefined) {
      record.referer = m[8];
      record.userAgent = m[9]!;
    }
    return { ok: true, record };
  }
}
