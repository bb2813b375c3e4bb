import { ClfAccessLogParser } from './clf.js';
import { CsvAccessLogParser } from './csv.js';
import { reject, type ParseResult } from './record.js';

export type AccessLogFormat = 'csv' | 'clf';

/**
 * Parses the lines of one access log, whatever its format: the CSV form (with or without its
 * header) or Common/Combined Log Format. With `format: 'auto'` the first line that is recognisable
 * decides (a CSV header, then a CLF line, then a CSV row); lines before it are rejected.
 * Blank lines and repeated CSV headers (files concatenated with `cat`) are skipped, not errors.
 */
export class AccessLogParser {
  private detected: AccessLogFormat | null;
  private csv: CsvAccessLogParser | null = null;
  private clf: ClfAccessLogParser | null = null;
  /** Blank lines skipped. */
  blanks = 0;
  /** CSV header lines skipped. */
  headers = 0;

  constructor(format: AccessLogFormat | 'auto' = 'auto') {
    this.detected = format === 'auto' ? null : format;
    if (format === 'clf') this.clf = new ClfAccessLogParser();
  }

  /** The format in use: the one given, or the detected one (null while none is). */
  get format(): AccessLogFormat | null {
    return this.detected;
  }

  /** A record, a rejection with its reason, or null for a line that is skipped by design. */
  parse(line: string): ParseResult | null {
    if (this.clf !== null) {
      const r = this.clf.parse(line);
      return r.ok || !isBlank(line) ? r : this.blank();
    }
    if (this.csv !== null) {
      const r = this.csv.parse(line);
      if (r.ok) return r;
      if (isBlank(line)) return this.blank();
      if (CsvAccessLogParser.headerOf(line) !== null) return this.header();
      return r;
    }
    if (isBlank(line)) return this.blank();
    return this.detected === 'csv' ? this.firstCsvLine(line) : this.detect(line);
  }

  private firstCsvLine(line: string): ParseResult | null {
    const header = CsvAccessLogParser.headerOf(line);
    if (header !== null) {
      this.csv = new CsvAccessLogParser(header);
      return this.header();
    }
    this.csv = new CsvAccessLogParser();
    return this.csv.parse(line);
  }

  private detect(line: string): ParseResult | null {
    const header = CsvAccessLogParser.headerOf(line);
    if (header !== null) {
      this.detected = 'csv';
      this.csv = new CsvAccessLogParser(header);
      return this.header();
    }
    const clf = new ClfAccessLogParser();
    const asClf = clf.parse(line);
    if (asClf.ok) {
      this.detected = 'clf';
      this.clf = clf;
      return asClf;
    }
    const csv = new CsvAccessLogParser();
    const asCsv = csv.parse(line);
    if (asCsv.ok) {
      this.detected = 'csv';
      this.csv = csv;
      return asCsv;
    }
    return reject(`format not recognised yet (expected a CSV access-log header or row, or a Common/Combined Log Format line): as CLF, ${asClf.reason}; as CSV, ${asCsv.reason}`);
  }

  private blank(): null {
    this.blanks++;
    return null;
  }

  private header(): null {
    this.headers++;
    return null;
  }
}

function isBlank(line: string): boolean {
  return line.trim().length === 0;
}
