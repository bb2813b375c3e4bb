import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into numbered lines, in constant memory: a chunk is decoded once (UTF-8,
 * characters split across chunks handled), lines are handed out one at a time, and only the
 * unfinished last line is kept. A line longer than `maxLineLength` characters is not held: it is
 * reported (with its number) and skipped up to the next newline. `\r\n` endings and a leading
 * byte-order mark are removed; invalid UTF-8 becomes U+FFFD for the parser to reject.
 */
export interface LineSink {
  line(text: string, lineNo: number): void;
  tooLong(lineNo: number, length: number): void;
}

export const DEFAULT_MAX_LINE = 1 << 20;

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private discarding = false;
  private discarded = 0;
  private lineNo = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLineLength = DEFAULT_MAX_LINE,
  ) {}

  /** Lines handed out so far (including too-long ones). */
  get lines(): number {
    return this.lineNo;
  }

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const n = text.length;
    let i = 0;
    while (i < n) {
      const nl = text.indexOf('\n', i);
      if (nl === -1) {
        this.keep(text, i, n);
        return;
      }
      if (this.discarding) {
        this.discarding = false;
        this.tooLong(this.discarded + nl - i);
      } else if (this.rest.length + nl - i > this.maxLineLength) {
        this.tooLong(this.rest.length + nl - i);
        this.rest = '';
      } else if (this.rest.length !== 0) {
        const line = this.rest + text.slice(i, nl);
        this.rest = '';
        this.emit(line);
      } else {
        this.emit(text.slice(i, nl));
      }
      i = nl + 1;
    }
  }

  /** End of input: the unfinished last line, if any, is a line. */
  end(): void {
    const tail = this.decoder.end();
    if (tail.length) this.push(tail);
    if (this.discarding) {
      this.discarding = false;
      this.tooLong(this.discarded);
    } else if (this.rest.length !== 0) {
      const line = this.rest;
      this.rest = '';
      this.emit(line);
    }
  }

  private keep(text: string, i: number, n: number): void {
    if (this.discarding) {
      this.discarded += n - i;
    } else if (this.rest.length + n - i > this.maxLineLength) {
      this.discarding = true;
      this.discarded = this.rest.length + n - i;
      this.rest = '';
    } else {
      this.rest += text.slice(i, n);
    }
  }

  private emit(raw: string): void {
    let line = raw;
    if (line.charCodeAt(line.length - 1) === 13 /* \r */) line = line.slice(0, -1);
    if (++this.lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    this.sink.line(line, this.lineNo);
  }

  private tooLong(length: number): void {
    this.sink.tooLong(++this.lineNo, length);
  }
}
