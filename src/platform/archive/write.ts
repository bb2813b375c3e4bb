/**
 * Writing one archive file: rows are pulled from the source one row group at a time and encoded with
 * hyparquet-writer, so memory holds one row group (columns + its encoded bytes), never the whole day.
 *
 * Crash safety: bytes go to a hidden temp file in the target folder; it is fsynced and closed, then
 * published under its final name with link(2) (atomic, and never overwrites: two writers of the same
 * day get different parts) or, with `replace`, rename(2) (atomic replace). The folder is fsynced after,
 * so the name is durable too. A failing source, a bad row or a crash therefore never leaves a partial
 * file under a `part-*.parquet` name; at worst a `.tmp` is left behind, which readers ignore and
 * `sweepArchiveTemp` removes.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ColumnSource } from 'hyparquet-writer';
import { z } from 'zod';
import { badRequest, conflict, type DomainError } from '../errors.js';
import { DAY_MS, TEMP_RE, checkOrgId, dayDir, dayStart, entries, isMissing, partName, partsIn } from './layout.js';
import { ARCHIVE_FORMAT_VERSION, COLUMNS, PARQUET_SCHEMA, WRITER_KEYS, type ArchiveRow } from './schema.js';

/**
 * Rows per row group. 32k rather than the common 64k–128k: on a 1M-row day it writes as fast, peaks
 * at ~380 MB RSS instead of ~535 MB (hyparquet-writer keeps several copies of a group while encoding),
 * and gives searches finer time ranges to skip by.
 */
export const DEFAULT_ROW_GROUP_SIZE = 32_768;

export interface WriteArchiveOptions {
  orgId: string;
  /** UTC day the rows belong to; every row's `timestamp` must fall in it (search picks files by day). */
  day: string;
  /** Rows in any order; ordered by timestamp they make tight row-group statistics and faster searches. */
  rows: AsyncIterable<ArchiveRow> | Iterable<ArchiveRow>;
  /** Write this part number instead of the next free one (an exporter that wants re-runs to be idempotent). */
  part?: number;
  /** With `part`: atomically replace an existing file of that part instead of failing with a conflict. */
  replace?: boolean;
  rowGroupSize?: number;
  /**
   * Extra footer key-values (`vigil.<key>`), read back in `ArchiveFileInfo.metadata`: lets an exporter
   * recognise its own earlier file of the same data.
   */
  metadata?: Record<string, string>;
}

export interface WriteArchiveResult {
  path: string;
  day: string;
  part: number;
  rows: number;
  /** Size of the file in bytes. */
  bytes: number;
  /** Smallest and largest event timestamps (epoch ms); null for a file with no rows. */
  minTs: number | null;
  maxTs: number | null;
}

const optionsSchema = z.object({
  orgId: z.string(),
  day: z.string(),
  part: z.number().int().min(0).max(99_999).optional(),
  replace: z.boolean().optional(),
  rowGroupSize: z.number().int().min(1).max(1_048_576).optional(),
  metadata: z.record(z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'keys are lower-case words (a-z, 0-9, _ . -)'), z.string().max(4096)).optional(),
});

/**
 * A hyparquet Writer that buffers one row group and hands it to the file asynchronously: the
 * ParquetWriter calls `flush()` after each row group and awaits the promise before encoding more.
 */
class FileSink extends ByteWriter {
  constructor(private readonly fh: FileHandle) {
    super(1 << 20);
  }

  flush(): Promise<void> {
    return this.drain();
  }

  override finish(): Promise<void> {
    return this.drain();
  }

  private async drain(): Promise<void> {
    const end = this.index;
    let at = 0;
    while (at < end) {
      const { bytesWritten } = await this.fh.write(new Uint8Array(this.buffer, at, end - at));
      at += bytesWritten;
    }
    this.index = 0;
  }
}

const rowError = (row: number, field: string, message: string): DomainError =>
  badRequest(`archive: row ${row}: ${field} ${message}`, [{ row, field, message }]);

const isStringOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const OPTIONAL_STRINGS = ['service', 'host', 'source', 'level', 'method', 'path', 'section', 'remoteAddr', 'userAgent'] as const;
const INT32_MAX = 2_147_483_647;
const ID_RE = /^\d{1,19}$/;
const INT64_MAX = 9_223_372_036_854_775_807n;
const ARENA_CHUNK = 1 << 20;
const utf8 = new TextEncoder();
/** Most events have no attributes left over: one shared encoding of `{}` instead of one per row. */
const EMPTY_JSON = utf8.encode('{}');

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * UTF-8 encodings of one row group's long, mostly distinct strings (message, attributes) as views
 * into shared 1 MB chunks. hyparquet-writer would otherwise allocate a Uint8Array per value, which
 * makes the garbage collector the largest cost of writing. Only for columns written without
 * statistics: the writer keeps a group's min/max values until the footer, and a view would keep its
 * whole chunk alive for the rest of the file.
 */
class Utf8Arena {
  private chunk = new Uint8Array(ARENA_CHUNK);
  private used = 0;

  encode(s: string): Uint8Array {
    // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
    if (this.used + s.length * 3 > this.chunk.length) {
      this.chunk = new Uint8Array(Math.max(ARENA_CHUNK, s.length * 3));
      this.used = 0;
    }
    const { written } = utf8.encodeInto(s, this.chunk.subarray(this.used));
    const view = this.chunk.subarray(this.used, this.used + written);
    this.used += written;
    return view;
  }
}

/** Column buffers for one row group; values are validated on the way in so a bad row names itself. */
class Batch {
  readonly data: unknown[][] = COLUMNS.map(() => []);
  length = 0;
  private readonly arena = new Utf8Arena();

  constructor(
    private readonly orgId: string,
    private readonly from: number,
    private readonly to: number,
  ) {}

  push(row: ArchiveRow, n: number): void {
    if (typeof row !== 'object' || row === null) throw rowError(n, 'row', 'is not an object');
    const ts = row.timestamp;
    if (!Number.isSafeInteger(ts)) throw rowError(n, 'timestamp', 'must be an integer of epoch milliseconds');
    if (ts < this.from || ts >= this.to) {
      throw rowError(n, 'timestamp', `${new Date(ts).toISOString()} is outside the file's day ${new Date(this.from).toISOString().slice(0, 10)}`);
    }
    if (!Number.isSafeInteger(row.receivedAt)) throw rowError(n, 'receivedAt', 'must be an integer of epoch milliseconds');
    if (typeof row.message !== 'string') throw rowError(n, 'message', 'must be a string');
    for (const f of OPTIONAL_STRINGS) {
      if (!isStringOrNull(row[f])) throw rowError(n, f, 'must be a string or null');
    }
    const { status, bytes, durationMs, attributes } = row;
    if (status !== null && !(Number.isInteger(status) && Math.abs(status) <= INT32_MAX)) throw rowError(n, 'status', 'must be a 32-bit integer or null');
    if (bytes !== null && !Number.isSafeInteger(bytes)) throw rowError(n, 'bytes', 'must be an integer or null');
    if (durationMs !== null && !(typeof durationMs === 'number' && Number.isFinite(durationMs))) throw rowError(n, 'durationMs', 'must be a finite number or null');
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) throw rowError(n, 'attributes', 'must be an object');
    const { id, tooLate } = row;
    if (typeof tooLate !== 'boolean') throw rowError(n, 'tooLate', 'must be a boolean');
    let idValue: bigint | null = null;
    if (id !== null) {
      if (typeof id !== 'string' || !ID_RE.test(id) || BigInt(id) > INT64_MAX) throw rowError(n, 'id', 'must be a non-negative 64-bit integer as decimal text, or null');
      idValue = BigInt(id);
    }
    let json: Uint8Array = EMPTY_JSON;
    if (!isEmpty(attributes)) {
      let text: string | undefined;
      try {
        text = JSON.stringify(attributes);
      } catch (error) {
        throw rowError(n, 'attributes', `cannot be written as JSON: ${(error as Error).message}`);
      }
      json = this.arena.encode(text);
    }

    const d = this.data;
    // Same order as COLUMNS; written out rather than looped over field names because this is the hot path.
    d[0]!.push(this.orgId);
    d[1]!.push(ts);
    d[2]!.push(row.receivedAt);
    d[3]!.push(row.service);
    d[4]!.push(row.host);
    d[5]!.push(row.source);
    d[6]!.push(row.level);
    d[7]!.push(this.arena.encode(row.message));
    d[8]!.push(row.method);
    d[9]!.push(row.path);
    d[10]!.push(row.section);
    d[11]!.push(status);
    d[12]!.push(bytes === null ? null : BigInt(bytes)); // INT64 pages take bigints only
    d[13]!.push(durationMs);
    d[14]!.push(row.remoteAddr);
    d[15]!.push(row.userAgent);
    d[16]!.push(json);
    d[17]!.push(tooLate);
    d[18]!.push(idValue);
    this.length++;
  }

  columnData(): ColumnSource[] {
    return COLUMNS.map((col, i) => ({
      name: col.name,
      data: this.data[i]!,
      // Page-level min/max for the time column lets readers skip pages, not only row groups.
      ...(col.name === 'ts' ? { columnIndex: true } : {}),
      // Bounds of free text and attribute blobs prune nothing (every group spans most of the range)
      // and cost encoding time; every other column keeps min/max and null counts.
      ...(col.name === 'message' || col.kind === 'json' ? { statistics: false } : {}),
    }));
  }
}

async function* batches(
  rows: AsyncIterable<ArchiveRow> | Iterable<ArchiveRow>,
  size: number,
  make: () => Batch,
): AsyncGenerator<Batch> {
  let batch = make();
  let n = 0;
  if (Symbol.asyncIterator in rows) {
    for await (const row of rows) {
      batch.push(row, n++);
      if (batch.length >= size) {
        yield batch;
        batch = make();
      }
    }
  } else {
    // Arrays and generators skip the per-row promise of `for await`.
    for (const row of rows) {
      batch.push(row, n++);
      if (batch.length >= size) {
        yield batch;
        batch = make();
      }
    }
  }
  if (batch.length > 0) yield batch;
}

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

/**
 * Publishes the finished temp file under `part-<n>.parquet` without ever overwriting (unless asked):
 * link(2) fails with EEXIST when the name is taken, which also settles races between two writers.
 */
async function publish(tmp: string, folder: string, first: number, fixed: boolean, replace: boolean): Promise<number> {
  if (fixed && replace) {
    await rename(tmp, join(folder, partName(first)));
    return first;
  }
  for (let part = first; ; part++) {
    const target = join(folder, partName(part));
    try {
      await link(tmp, target);
      await unlink(tmp);
      return part;
    } catch (error) {
      const code = errno(error);
      if (code === 'EEXIST') {
        if (fixed) throw conflict(`archive: ${target} already exists`, { path: target });
        continue;
      }
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
        // A filesystem without hard links: check then rename. Racy between two writers of the same
        // day, which the exporter (one per org and day) does not do.
        const taken = await stat(target).then(
          () => true,
          (e: unknown) => (isMissing(e) ? false : Promise.reject(e)),
        );
        if (taken) {
          if (fixed) throw conflict(`archive: ${target} already exists`, { path: target });
          continue;
        }
        await rename(tmp, target);
        return part;
      }
      throw error;
    }
  }
}

/**
 * Writes the rows of one organisation and UTC day to a new Parquet file
 * `<dir>/org=<orgId>/day=<day>/part-<n>.parquet` (n = next free part unless `part` is given) and
 * returns where it went. Nothing appears under a final name unless the whole file was written and
 * fsynced. Rows are validated as they stream: the first bad one aborts the write with a 400 DomainError
 * naming its index and field.
 */
export async function writeArchiveFile(dir: string, options: WriteArchiveOptions): Promise<WriteArchiveResult> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw badRequest(`archive: invalid write options: ${parsed.error.message}`);
  const { orgId, day, part, replace = false, rowGroupSize = DEFAULT_ROW_GROUP_SIZE, metadata = {} } = parsed.data;
  const reserved = Object.keys(metadata).find((key) => WRITER_KEYS.has(key));
  if (reserved !== undefined) throw badRequest(`archive: metadata key ${JSON.stringify(reserved)} is written by the archive itself; choose another name`);
  checkOrgId(orgId);
  const from = dayStart(day);
  if (replace && part === undefined) throw badRequest('archive: replace needs an explicit part');
  const source: unknown = options.rows;
  if (typeof source !== 'object' || source === null || !(Symbol.asyncIterator in source || Symbol.iterator in source)) {
    throw badRequest('archive: rows must be an array, an iterable or an async iterable');
  }

  const folder = dayDir(dir, orgId, day);
  const created = await mkdir(folder, { recursive: true });
  if (created !== undefined) {
    // New folders must be durable before a file in them can be: fsync each level that was created.
    for (let p = folder; p.length >= created.length; p = dirname(p)) await fsyncDir(p);
    await fsyncDir(dirname(created));
  }
  const existing = await partsIn(folder);
  const first = part ?? (existing.length > 0 ? existing[existing.length - 1]! + 1 : 0);
  if (part !== undefined && !replace && existing.includes(part)) throw conflict(`archive: part ${part} of ${day} already exists`, { day, part });

  const tmp = join(folder, `.part-${first}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  let closed = false;
  try {
    const writer = new ParquetWriter({
      writer: new FileSink(fh),
      schema: PARQUET_SCHEMA,
      createdBy: 'vigil archive (hyparquet-writer)',
    });
    let rows = 0;
    let minTs = Infinity;
    let maxTs = -Infinity;
    let sorted = true;
    let last = -Infinity;
    for await (const batch of batches(options.rows, rowGroupSize, () => new Batch(orgId, from, from + DAY_MS))) {
      for (const ts of batch.data[1] as number[]) {
        if (ts < last) sorted = false;
        last = ts;
        if (ts < minTs) minTs = ts;
        if (ts > maxTs) maxTs = ts;
      }
      rows += batch.length;
      await writer.write({ columnData: batch.columnData(), rowGroupSize: batch.length });
    }
    const hasRows = rows > 0;
    // Footer key-values: the file says what it holds without a scan (and tools can show it).
    writer.kvMetadata = [
      { key: 'vigil.archive.version', value: ARCHIVE_FORMAT_VERSION },
      { key: 'vigil.org_id', value: orgId },
      { key: 'vigil.day', value: day },
      { key: 'vigil.rows', value: String(rows) },
      { key: 'vigil.sorted_by_ts', value: String(sorted) },
      ...(hasRows
        ? [
            { key: 'vigil.min_ts', value: new Date(minTs).toISOString() },
            { key: 'vigil.max_ts', value: new Date(maxTs).toISOString() },
          ]
        : []),
      ...Object.entries(metadata).map(([key, value]) => ({ key: `vigil.${key}`, value })),
    ];
    await writer.finish();
    await fh.sync();
    const { size } = await fh.stat();
    closed = true;
    await fh.close();
    const published = await publish(tmp, folder, first, part !== undefined, replace);
    await fsyncDir(folder);
    return {
      path: join(folder, partName(published)),
      day,
      part: published,
      rows,
      bytes: size,
      minTs: hasRows ? minTs : null,
      maxTs: hasRows ? maxTs : null,
    };
  } catch (error) {
    if (!closed) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/**
 * Removes temp files left by writers that crashed (kill -9, power loss) more than `olderThanMs` ago;
 * younger ones may belong to a write in progress. Returns how many were removed.
 */
export async function sweepArchiveTemp(dir: string, olderThanMs = 3_600_000): Promise<number> {
  let removed = 0;
  const cutoff = Date.now() - olderThanMs;
  for (const org of await entries(dir)) {
    if (!org.startsWith('org=')) continue;
    for (const day of await entries(join(dir, org))) {
      if (!day.startsWith('day=')) continue;
      const folder = join(dir, org, day);
      for (const name of await entries(folder)) {
        if (!TEMP_RE.test(name)) continue;
        const path = join(folder, name);
        const info = await stat(path).catch(() => null);
        if (info !== null && info.mtimeMs < cutoff) {
          await unlink(path).catch(() => undefined);
          removed++;
        }
      }
    }
  }
  return removed;
}
