import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { excerpt, reject, type AccessRecord, type ParseResult } from './record.js';
import { parseRequestLine, sectionOf } from './request.js';

/**
 * The CSV access-log form:
 *
 *   "remotehost","rfc931","authuser","date","request","status","bytes"
 *   "10.0.0.2","-","apache",1549573860,"GET /api/user HTTP/1.0",200,1234
 *
 * `date` is unix seconds. One record per line: a line is parsed on its own, so a bad line never
 * swallows the next ones (a quoted field cannot span lines).
 *
 * The common shape (every field quoted or numeric, no embedded quotes) takes a fast path: one
 * anchored regex whose fields are exactly what a CSV parser would return for such a line. Anything
 * else goes through csv-parse, the real CSV parser, which decides what it means or why it is bad.
 * The fast path roughly doubles the monitor's throughput (csv-parse alone: ~280k rows/s here).
 */

export const CSV_COLUMNS = ['remotehost', 'rfc931', 'authuser', 'date', 'request', 'status', 'bytes'] as const;
type Column = (typeof CSV_COLUMNS)[number];
/** Columns a header must name; rfc931 and authuser may be absent. */
const REQUIRED: readonly Column[] = ['remotehost', 'date', 'request', 'status', 'bytes'];

// Linear: every group is a negated class or digits, separated by literal delimiters.
const FAST_ROW = /^"([^"]*)","([^"]*)","([^"]*)",(\d{1,12}),"([^"]*)",(\d{3}),(\d{1,15})$/;
const UNIX_TIME = /^\d{1,12}(?:\.\d{1,9})?$/;
const DIGITS = /^\d{1,15}$/;
const STATUS = /^\d{3}$/;
/** Far beyond any access-log line; bounds csv-parse's work on garbage. */
const MAX_RECORD = 1 << 20;

function csvFields(line: string): string[] | string {
  try {
    const rows = parseCsv(line, { max_record_size: MAX_RECORD, skip_empty_lines: false }) as string[][];
    if (rows.length !== 1) return rows.length === 0 ? 'empty line' : `expected one CSV record, found ${rows.length}`;
    return rows[0]!;
  } catch (error) {
    if (error instanceof CsvError) return `invalid CSV: ${error.message}`;
    throw error;
  }
}

export class CsvAccessLogParser {
  /** Index of each column in a row. */
  private readonly index: Record<Column, number>;
  private readonly width: number;
  /** True when the columns are in the standard order, which the fast path assumes. */
  private readonly standard: boolean;

  /** `columns`: the header's names in order (the standard order when the file has no header). */
  constructor(columns: readonly string[] = CSV_COLUMNS) {
    const names = columns.map((c) => c.trim().toLowerCase());
    const index = {} as Record<Column, number>;
    for (const c of CSV_COLUMNS) index[c] = names.indexOf(c);
    const missing = REQUIRED.filter((c) => index[c] === -1);
    if (missing.length) throw new Error(`CSV header lacks column(s) ${missing.join(', ')}`);
    this.index = index;
    this.width = names.length;
    this.standard = names.length === CSV_COLUMNS.length && CSV_COLUMNS.every((c, i) => names[i] === c);
  }

  /** The column names when `line` is a CSV access-log header (it names the required columns), else null. */
  static headerOf(line: string): string[] | null {
    if (!line.toLowerCase().includes('remotehost')) return null; // cheap pre-check: no CSV parse per data line
    const fields = csvFields(line);
    if (typeof fields === 'string') return null;
    const names = fields.map((f) => f.trim().toLowerCase());
    return REQUIRED.every((c) => names.includes(c)) ? fields : null;
  }

  parse(line: string): ParseResult {
    if (this.standard) {
      const m = FAST_ROW.exec(line);
      // The regex already checked date, status and bytes are digits.
      if (m !== null) return this.record(m[1]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7]!, true);
    }
    const fields = csvFields(line);
    if (typeof fields === 'string') return reject(fields);
    if (fields.length !== this.width) return reject(`expected ${this.width} CSV fields, found ${fields.length}`);
    const at = (c: Column) => (this.index[c] === -1 ? '-' : fields[this.index[c]]!.trim());
    return this.record(at('remotehost'), at('authuser'), at('date'), at('request'), at('status'), at('bytes'), false);
  }

  private record(host: string, user: string, date: string, request: string, statusText: string, bytesText: string, digitsChecked: boolean): ParseResult {
    if (!digitsChecked) {
      if (!UNIX_TIME.test(date)) return reject(`date ${excerpt(date)} is not unix seconds`);
      if (!STATUS.test(statusText)) return reject(`status ${excerpt(statusText)} is not a 3-digit HTTP status`);
      if (bytesText !== '-' && !DIGITS.test(bytesText)) return reject(`bytes ${excerpt(bytesText)} is not a byte count`);
    }
    const status = +statusText;
    if (status < 100 || status > 599) return reject(`status ${status} is outside 100–599`);
    const bytes = bytesText === '-' ? 0 : +bytesText;
    const req = parseRequestLine(request);
    if (typeof req === 'string') return reject(`${req}: ${excerpt(request)}`);
    const record: AccessRecord = {
      time: +date,
      host,
      user,
      method: req.method,
      path: req.path,
      protocol: req.protocol,
      section: sectionOf(req.path),
      status,
      bytes,
    };
    return { ok: true, record };
  }
}
