/**
 * Keeps the last `limit` bytes of a byte stream in bounded memory (ping bodies, command output):
 * the end of a log is where the error is.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes seen in total, including the ones dropped. */
  totalBytes = 0;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    if (this.limit <= 0) return;
    const piece = chunk.length > this.limit ? chunk.subarray(chunk.length - this.limit) : chunk;
    this.chunks.push(piece);
    this.kept += piece.length;
    while (this.kept - (this.chunks[0]?.length ?? 0) >= this.limit) {
      this.kept -= this.chunks.shift()?.length ?? 0;
    }
  }

  get truncated(): boolean {
    return this.totalBytes > this.limit;
  }

  toBuffer(): Buffer {
    const all = Buffer.concat(this.chunks, this.kept);
    return all.length > this.limit ? all.subarray(all.length - this.limit) : all;
  }

  /** The tail as UTF-8; a character cut at the start becomes U+FFFD rather than an error. */
  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}
