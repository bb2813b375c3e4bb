/**
 * Searching the archive of one organisation: the files are chosen by day from their path, row groups
 * are pruned by the `ts` statistics in the footers, and only row groups that can still contribute to
 * the page are decoded — first the `ts` column, then the filter columns, and the rest of the row only
 * for rows that pass.
 *
 * Order is total and stable: (timestamp, day, part, row index in the file), newest first by default.
 * The cursor names the last row returned; the next page holds the rows strictly after it. Row groups
 * are visited in order of their best possible timestamp and the scan stops as soon as no unvisited
 * group can beat the rows already held, so for files written in time order a page costs about one
 * row group per file touched, while unsorted files are still answered correctly (just with more reading).
 */
import { z } from 'zod';
import { badRequest } from '../errors.js';
import { dayOf, isMissing, partsOf, type PartEntry } from './layout.js';
import type { ParquetScan } from 'hyparquet';
import { openArchiveFile, readColumns, rowAt, rowColumnsOf, scanOf, type OpenArchiveFile, type RowGroupInfo } from './read.js';
import type { ArchiveRow } from './schema.js';
import { statusClass, type StatusClass } from '../../contracts/logs.js';


export interface ArchiveQuery {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** Case-insensitive substring of the message (plain text, never a pattern). */
  q?: string;
  service?: string;
  /** An exact status or a class such as `5xx`. */
  status?: number | StatusClass;
  section?: string;
  limit: number;
  cursor?: string;
  /** `desc` (default): newest first. A cursor belongs to the order it was made in. */
  order?: 'desc' | 'asc';
}

export interface ArchiveSearchResult {
  rows: ArchiveRow[];
  /** Pass back as `cursor` for the next page; null when there is none. */
  nextCursor: string | null;
  /** What the search had to read: for logs and the UI's "searching the archive is slower" hint. */
  scanned: { files: number; rowGroups: number; rows: number };
}

const MAX_SEARCH_LIMIT = 10_000;
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z. */
const MIN_MS = -62_167_219_200_000;
const MAX_MS = 253_402_300_799_999;

const querySchema = z
  .object({
    from: z.number().int(),
    to: z.number().int(),
    q: z.string().max(1024).optional(),
    service: z.string().optional(),
    status: z.union([z.number().int(), statusClass]).optional(),
    section: z.string().optional(),
    limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT),
    cursor: z.string().max(512).optional(),
    order: z.enum(['desc', 'asc']).optional(),
  })
  .refine((q) => q.from < q.to, { message: 'from must be before to' });

/** Position of a row in the archive's total order. */
interface Key {
  ts: number;
  day: string;
  part: number;
  row: number;
}

function compareKeys(a: Key, b: Key): number {
  return a.ts - b.ts || (a.day < b.day ? -1 : a.day > b.day ? 1 : 0) || a.part - b.part || a.row - b.row;
}

const cursorSchema = z.object({
  o: z.enum(['d', 'a']),
  ts: z.number().int(),
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  part: z.number().int().min(0),
  row: z.number().int().min(0),
});

function encodeCursor(key: Key, order: 'desc' | 'asc'): string {
  return Buffer.from(JSON.stringify({ o: order === 'desc' ? 'd' : 'a', ...key })).toString('base64url');
}

function decodeCursor(cursor: string, order: 'desc' | 'asc'): Key {
  let parsed: z.infer<typeof cursorSchema>;
  try {
    parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw badRequest('archive: invalid cursor: pass back a next_cursor this search returned, or start again without one');
  }
  if (parsed.o !== (order === 'desc' ? 'd' : 'a')) throw badRequest(`archive: the cursor was made for the other order, not ${order}`);
  return { ts: parsed.ts, day: parsed.day, part: parsed.part, row: parsed.row };
}

interface Hit {
  key: Key;
  row: ArchiveRow;
}

/**
 * The best `capacity` hits seen so far, where "better" comes first in the requested order; a binary
 * heap with the worst held hit at the root, so a candidate is checked against it in O(1).
 */
class Best {
  private readonly heap: Hit[] = [];

  /** `better(a, b) < 0` when a comes before b in the result. */
  constructor(
    readonly capacity: number,
    private readonly better: (a: Key, b: Key) => number,
  ) {}

  get full(): boolean {
    return this.heap.length >= this.capacity;
  }

  get worst(): Key | undefined {
    return this.heap[0]?.key;
  }

  /** Could a row with this key still enter? */
  admits(key: Key): boolean {
    return !this.full || this.better(key, this.heap[0]!.key) < 0;
  }

  add(hit: Hit): void {
    const h = this.heap;
    if (h.length < this.capacity) {
      h.push(hit);
      this.up(h.length - 1);
    } else if (this.better(hit.key, h[0]!.key) < 0) {
      h[0] = hit;
      this.down(0);
    }
  }

  sorted(): Hit[] {
    return [...this.heap].sort((a, b) => this.better(a.key, b.key));
  }

  /** Heap order: the parent is worse than (comes after) its children. */
  private worse(i: number, j: number): boolean {
    return this.better(this.heap[i]!.key, this.heap[j]!.key) > 0;
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    [h[i], h[j]] = [h[j]!, h[i]!];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.worse(parent, i)) return;
      this.swap(parent, i);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < n && this.worse(l, top)) top = l;
      if (r < n && this.worse(r, top)) top = r;
      if (top === i) return;
      this.swap(i, top);
      i = top;
    }
  }
}

interface Candidate {
  entry: PartEntry;
  group: RowGroupInfo;
}

const STATUS_CLASS_RE = /^([1-5])xx$/;

function statusTest(status: number | StatusClass | undefined): ((v: unknown) => boolean) | null {
  if (status === undefined) return null;
  if (typeof status === 'number') return (v) => v === status;
  const low = Number(STATUS_CLASS_RE.exec(status)![1]) * 100;
  return (v) => typeof v === 'number' && v >= low && v < low + 100;
}

/**
 * Rows of `orgId`'s archive with timestamp in [from, to) that pass every given filter, `limit` at a
 * time in a stable order, with a cursor for the next page. Reads only the files of the days the range
 * touches. Throws a 400 DomainError for an invalid query or cursor.
 */
export async function searchArchive(dir: string, orgId: string, query: ArchiveQuery): Promise<ArchiveSearchResult> {
  const parsed = querySchema.safeParse(query);
  if (!parsed.success) throw badRequest(`archive: invalid search: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ')}`);
  const { from, to, q, service, status, section, limit, cursor } = parsed.data;
  const order = parsed.data.order ?? 'desc';
  const desc = order === 'desc';
  const after = cursor === undefined ? null : decodeCursor(cursor, order);
  const better = desc ? (a: Key, b: Key) => compareKeys(b, a) : compareKeys;
  // One more than the page, to know whether a next page exists.
  const best = new Best(limit + 1, better);

  const needle = q !== undefined && q !== '' ? q.toLowerCase() : null;
  const statusOk = statusTest(status);
  const filters: [column: string, test: (v: unknown) => boolean][] = [];
  if (statusOk) filters.push(['status', statusOk]);
  if (service !== undefined) filters.push(['service', (v) => v === service]);
  if (section !== undefined) filters.push(['section', (v) => v === section]);
  // Last: lower-casing messages is the costliest test, so it runs on the fewest rows.
  if (needle !== null) filters.push(['message', (v) => typeof v === 'string' && v.toLowerCase().includes(needle)]);

  // The time range, narrowed by the cursor: rows at or before it (in result order) are done. Clamped
  // to four-digit years, where day folder names (`YYYY-MM-DD`) compare in time order.
  let lo = Math.max(from, MIN_MS);
  let hi = Math.min(to - 1, MAX_MS);
  if (after !== null) {
    if (desc) hi = Math.min(hi, after.ts);
    else lo = Math.max(lo, after.ts);
  }
  const scanned = { files: 0, rowGroups: 0, rows: 0 };
  if (lo > hi) return { rows: [], nextCursor: null, scanned };

  const files = new OpenFiles();
  try {
    const candidates: Candidate[] = [];
    for (const entry of await partsOf(dir, orgId, dayOf(lo), dayOf(hi))) {
      const file = await files.get(entry).catch(skipVanished);
      if (file === null) continue;
      for (const group of file.groups) {
        if (group.rowEnd > group.rowStart && group.maxTs >= lo && group.minTs <= hi) candidates.push({ entry, group });
      }
    }
    // Most promising first: newest maximum (desc) or oldest minimum (asc).
    candidates.sort((a, b) => (desc ? b.group.maxTs - a.group.maxTs : a.group.minTs - b.group.minTs));

    const read = new Set<string>();
    for (const candidate of candidates) {
      if (exhausted(best, candidate, desc)) break;
      const file = await files.get(candidate.entry).catch(skipVanished);
      if (file === null) continue;
      read.add(candidate.entry.path);
      scanned.rowGroups++;
      scanned.rows += candidate.group.rowEnd - candidate.group.rowStart;
      await searchGroup(await file.scan(), rowColumnsOf(file.metadata), candidate.entry, candidate.group);
    }
    scanned.files = read.size;
  } finally {
    await files.closeAll();
  }

  async function searchGroup(scan: ParquetScan, rowColumns: readonly string[], entry: PartEntry, group: RowGroupInfo): Promise<void> {
    const { rowStart, rowEnd } = group;
    const ts = await scan.readColumn({ column: 'ts', rowStart, rowEnd });
    let keep: number[] = [];
    for (let k = 0; k < rowEnd - rowStart; k++) {
      const t = Number(ts[k]);
      if (t < from || t >= to) continue;
      const key: Key = { ts: t, day: entry.day, part: entry.part, row: rowStart + k };
      if (after !== null && better(key, after) <= 0) continue;
      if (!best.admits(key)) continue;
      keep.push(k);
    }
    for (const [column, test] of filters) {
      if (keep.length === 0) return;
      const values = await scan.readColumn({ column, rowStart, rowEnd });
      keep = keep.filter((k) => test(values[k] ?? null));
    }
    if (keep.length === 0) return;
    let keys = keep.map((k): [Key, number] => [{ ts: Number(ts[k]), day: entry.day, part: entry.part, row: rowStart + k }, k]);
    // Only the best `capacity` of this group can enter: rank first, so rows that would be evicted
    // at once (a page of the newest rows out of a group written oldest first) are never built.
    if (keys.length > best.capacity) keys = keys.sort((a, b) => better(a[0], b[0])).slice(0, best.capacity);
    const cols = await readColumns(scan, rowColumns, rowStart, rowEnd);
    for (const [key, k] of keys) {
      if (best.admits(key)) best.add({ key, row: rowAt(cols, k) });
    }
  }

  const hits = best.sorted();
  const page = hits.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page.map((h) => h.row),
    nextCursor: hits.length > limit && last !== undefined ? encodeCursor(last.key, order) : null,
    scanned,
  };
}

/**
 * True when the page is full and no row of this candidate (nor, candidates being sorted by their
 * best timestamp, of any later one) can come before the worst row held.
 */
function exhausted(best: Best, { group }: Candidate, desc: boolean): boolean {
  const worst = best.worst;
  if (!best.full || worst === undefined) return false;
  return desc ? group.maxTs < worst.ts : group.minTs > worst.ts;
}

interface Opened extends OpenArchiveFile {
  scan(): Promise<ParquetScan>;
}

/**
 * The files a search has open, at most `max` at once (least recently used closed first): candidate
 * row groups interleave across overlapping files, and reopening a file per row group would repeat the
 * open, stat and scan set-up each time.
 */
class OpenFiles {
  private readonly open = new Map<string, Promise<Opened>>();

  constructor(private readonly max = 32) {}

  async get(entry: PartEntry): Promise<Opened> {
    let file = this.open.get(entry.path);
    if (file !== undefined) {
      this.open.delete(entry.path); // re-inserted last: most recently used
    } else {
      if (this.open.size >= this.max) {
        const [oldest, evicted] = this.open.entries().next().value!;
        this.open.delete(oldest);
        await evicted.then((f) => f.close(), () => undefined);
      }
      file = openArchiveFile(entry.path).then((f) => {
        let scan: Promise<ParquetScan> | undefined;
        return { ...f, scan: () => (scan ??= scanOf(f.buffer, f.metadata)) };
      });
    }
    this.open.set(entry.path, file);
    return file;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((f) => f.then((x) => x.close(), () => undefined)));
  }
}

/** A file removed between listing and reading (a retention sweep) is skipped, not an error. */
function skipVanished(error: unknown): null {
  if (isMissing(error)) return null;
  throw error;
}
