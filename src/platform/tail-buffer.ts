/**
 * The last `limit` bytes of a byte stream, in memory bounded by the limit whatever the stream's
 * length: `vigil run` wraps jobs that may print gigabytes, and only the end of the output (where
 * the error usually is) goes to Vigil.
 */
export class TailBuffer {
  readonly limit: number;
  /** Chunks in arrival order; their lengths add up to `size`, which never exceeds `limit`. */
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`tail limit must be a non-negative integer, got ${limit}`);
    this.limit = limit;
  }

  /** Bytes currently kept. */
  get length(): number {
    return this.size;
  }

  /** Bytes seen in total (kept + dropped). */
  get total(): number {
    return this.size + this.dropped;
  }

  /** True once some output has been dropped from the front. */
  get truncated(): boolean {
    return this.dropped > 0;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (chunk.length >= this.limit) {
      // The chunk alone fills the tail: keep a copy of its end, not a view that would pin the
      // whole (possibly large) source buffer in memory.
      this.dropped += this.size + chunk.length - this.limit;
      this.chunks = this.limit > 0 ? [Buffer.from(chunk.subarray(chunk.length - this.limit))] : [];
      this.size = this.limit;
      return;
    }
    // Copied because stream chunks may be views into pooled memory that the producer reuses.
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    let excess = this.size - this.limit;
    while (excess > 0) {
      const first = this.chunks[0];
      if (first === undefined) break;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
        excess -= first.length;
      } else {
        this.chunks[0] = Buffer.from(first.subarray(excess));
        this.size -= excess;
        this.dropped += excess;
        excess = 0;
      }
    }
  }

  /**
   * The kept bytes, or only the last `max` of them. The cut is moved forward past UTF-8
   * continuation bytes so a multi-byte character is never split into an invalid fragment
   * at the start of the body (at most 3 bytes are given up for that).
   */
  tail(max: number = this.limit): Buffer {
    const all = this.chunks.length === 1 && this.chunks[0] ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    const keep = Math.max(0, Math.min(max, all.length));
    return alignUtf8Start(all.subarray(all.length - keep), all.length > keep || this.truncated);
  }
}

/**
 * Drops a partial UTF-8 character from the start of `bytes` when the bytes were cut out of a
 * longer stream (`cut`); up to 3 continuation bytes (10xxxxxx) are skipped, no more, so binary
 * output that is not UTF-8 at all is not eaten away.
 */
export function alignUtf8Start(bytes: Buffer, cut: boolean): Buffer {
  if (!cut) return bytes;
  let start = 0;
  while (start < 3 && start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return start === 0 ? bytes : bytes.subarray(start);
}
