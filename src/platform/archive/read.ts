/**
 * Reading archive files with hyparquet: footers (cached, files are immutable once published), row
 * groups decoded column by column on demand, rows rebuilt as ArchiveRow.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { parquetMetadataAsync, parquetScan } from 'hyparquet';
import type { AsyncBuffer, DecodedArray, FileMetaData, ParquetParsers, ParquetScan } from 'hyparquet';
import { dayOf, partsOf, type PartEntry } from './layout.js';
import { COLUMNS, WRITER_KEYS, type ArchiveRow } from './schema.js';

/** Timestamps as epoch-ms numbers (the ArchiveRow unit) rather than Date objects. */
export const PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (ms: bigint) => Number(ms),
  timestampFromMicroseconds: (us: bigint) => Number(us / 1000n),
  timestampFromNanoseconds: (ns: bigint) => Number(ns / 1_000_000n),
};

export interface RowGroupInfo {
  rowStart: number;
  rowEnd: number;
  /** Event-time bounds from the `ts` column statistics; ±Infinity when a file has none. */
  minTs: number;
  maxTs: number;
}

export interface ArchiveFileInfo {
  path: string;
  day: string;
  part: number;
  rows: number;
  /** File size in bytes. */
  bytes: number;
  minTs: number | null;
  maxTs: number | null;
  sortedByTs: boolean;
  /** When the file was written (epoch ms): its modification time, as published files never change. */
  createdAt: number;
  /** The writer's extra footer key-values (`WriteArchiveOptions.metadata`), without their `vigil.` prefix. */
  metadata: Record<string, string>;
}

/** An AsyncBuffer over an open file: positioned reads, no stream per slice. */
function fileBuffer(fh: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const length = Math.max(0, Math.min(end, size) - start);
      const out = new ArrayBuffer(length);
      let at = 0;
      while (at < length) {
        const { bytesRead } = await fh.read(new Uint8Array(out, at, length - at), 0, length - at, start + at);
        if (bytesRead === 0) throw new Error(`archive: unexpected end of file reading ${start + at}`);
        at += bytesRead;
      }
      return out;
    },
  };
}

const asNumber = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.getTime() : null);

function groupsOf(metadata: FileMetaData): RowGroupInfo[] {
  const tsIndex = metadata.schema.slice(1).findIndex((e) => e.name === 'ts');
  const groups: RowGroupInfo[] = [];
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows);
    const stats = tsIndex >= 0 ? group.columns[tsIndex]?.meta_data?.statistics : undefined;
    groups.push({
      rowStart,
      rowEnd: rowStart + rows,
      minTs: asNumber(stats?.min_value ?? stats?.min) ?? -Infinity,
      maxTs: asNumber(stats?.max_value ?? stats?.max) ?? Infinity,
    });
    rowStart += rows;
  }
  return groups;
}

function kv(metadata: FileMetaData, key: string): string | undefined {
  return metadata.key_value_metadata?.find((e) => e.key === key)?.value;
}

function extraMetadata(metadata: FileMetaData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of metadata.key_value_metadata ?? []) {
    const name = key.startsWith('vigil.') ? key.slice('vigil.'.length) : undefined;
    if (name !== undefined && !WRITER_KEYS.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}

interface CacheEntry {
  ino: number;
  size: number;
  mtimeMs: number;
  metadata: FileMetaData;
}

/**
 * Footers by path. Published files never change in place (a replace is a rename: new inode), so
 * inode, size and mtime tell a stale entry, even where mtimes are coarse; bounded so a long archive
 * cannot grow it without limit.
 */
const footers = new Map<string, CacheEntry>();
const FOOTER_CACHE_SIZE = 2048;

/** An archive file open for reading, with its footer. */
export interface OpenArchiveFile {
  metadata: FileMetaData;
  groups: RowGroupInfo[];
  buffer: AsyncBuffer;
  /** File size in bytes. */
  size: number;
  mtimeMs: number;
  close(): Promise<void>;
}

/** Opens an archive file and parses its footer (cached). The caller closes it. */
export async function openArchiveFile(path: string): Promise<OpenArchiveFile> {
  const fh = await open(path, 'r');
  try {
    const { ino, size, mtimeMs } = await fh.stat();
    const buffer = fileBuffer(fh, size);
    let cached = footers.get(path);
    if (cached === undefined || cached.ino !== ino || cached.size !== size || cached.mtimeMs !== mtimeMs) {
      cached = { ino, size, mtimeMs, metadata: await parquetMetadataAsync(buffer, { parsers: PARSERS }) };
      if (footers.size >= FOOTER_CACHE_SIZE) footers.delete(footers.keys().next().value!);
    } else {
      footers.delete(path); // re-inserted below: most recently used last
    }
    footers.set(path, cached);
    const { metadata } = cached;
    return { metadata, groups: groupsOf(metadata), buffer, size, mtimeMs, close: () => fh.close() };
  } catch (error) {
    await fh.close();
    throw error;
  }
}

/** What the listing tells about a file; `day` and `part` come from its path (see layout.ts). */
function fileInfo(entry: PartEntry, file: OpenArchiveFile): ArchiveFileInfo {
  const { metadata } = file;
  const nonEmpty = file.groups.filter((g) => g.rowEnd > g.rowStart);
  const minTs = nonEmpty.length > 0 ? Math.min(...nonEmpty.map((g) => g.minTs)) : null;
  const maxTs = nonEmpty.length > 0 ? Math.max(...nonEmpty.map((g) => g.maxTs)) : null;
  return {
    path: entry.path,
    day: entry.day,
    part: entry.part,
    rows: Number(metadata.num_rows),
    bytes: file.size,
    minTs: minTs !== null && Number.isFinite(minTs) ? minTs : null,
    maxTs: maxTs !== null && Number.isFinite(maxTs) ? maxTs : null,
    sortedByTs: kv(metadata, 'vigil.sorted_by_ts') === 'true',
    createdAt: file.mtimeMs,
    metadata: extraMetadata(metadata),
  };
}

export const scanOf = (buffer: AsyncBuffer, metadata: FileMetaData): Promise<ParquetScan> => parquetScan({ file: buffer, metadata, parsers: PARSERS });

/** Reads named columns of one row range; each decoded once per call. */
export async function readColumns(scan: ParquetScan, names: readonly string[], rowStart: number, rowEnd: number): Promise<Map<string, DecodedArray>> {
  const out = new Map<string, DecodedArray>();
  for (const name of names) out.set(name, await scan.readColumn({ column: name, rowStart, rowEnd }));
  return out;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Builds the ArchiveRow at index `i` of decoded columns (all of COLUMNS but org_id). Columns a file
 * lacks (`id` and `too_late` in version 1 files) read as null and false.
 */
export function rowAt(cols: Map<string, DecodedArray>, i: number): ArchiveRow {
  const c = (name: string): unknown => cols.get(name)?.[i] ?? null;
  const json = c('attributes');
  const attributes: unknown = json === '{}' ? {} : typeof json === 'string' ? JSON.parse(json) : json;
  return {
    timestamp: Number(c('ts')),
    receivedAt: Number(c('received_at')),
    service: str(c('service')),
    host: str(c('host')),
    source: str(c('source')),
    level: str(c('level')),
    message: str(c('message')) ?? '',
    method: str(c('method')),
    path: str(c('path')),
    section: str(c('section')),
    status: num(c('status')),
    bytes: num(c('bytes')),
    durationMs: num(c('duration_ms')),
    remoteAddr: str(c('remote_addr')),
    userAgent: str(c('user_agent')),
    attributes: typeof attributes === 'object' && attributes !== null && !Array.isArray(attributes) ? (attributes as Record<string, unknown>) : {},
    id: str(c('id')),
    tooLate: c('too_late') === true,
  };
}

export const ROW_COLUMNS: readonly string[] = COLUMNS.filter((c) => c.field !== null).map((c) => c.name);

/** The row columns this file has: files of an older format version lack the newer ones. */
export function rowColumnsOf(metadata: FileMetaData): readonly string[] {
  const present = new Set(metadata.schema.slice(1).map((e) => e.name));
  return ROW_COLUMNS.every((name) => present.has(name)) ? ROW_COLUMNS : ROW_COLUMNS.filter((name) => present.has(name));
}

/**
 * Every row of one archive file in file order, one row group decoded at a time (bounded memory for
 * files of any size). For exports, restores and checks; searches use `searchArchive`.
 */
export async function* readArchiveFile(path: string): AsyncGenerator<ArchiveRow> {
  const file = await openArchiveFile(path);
  try {
    const scan = await scanOf(file.buffer, file.metadata);
    const columns = rowColumnsOf(file.metadata);
    for (const group of file.groups) {
      if (group.rowEnd === group.rowStart) continue;
      const cols = await readColumns(scan, columns, group.rowStart, group.rowEnd);
      for (let i = 0; i < group.rowEnd - group.rowStart; i++) yield rowAt(cols, i);
    }
  } finally {
    await file.close();
  }
}

export interface ListArchiveOptions {
  /** Only days in [from, to] (inclusive); instants (epoch ms) are taken by their UTC day. */
  from?: number | string;
  to?: number | string;
}

const asDay = (v: number | string | undefined): string | undefined => (typeof v === 'number' ? dayOf(v) : v);

/** The archived files of an organisation, by day then part, with their row counts, sizes and time bounds. */
export async function listArchive(dir: string, orgId: string, options: ListArchiveOptions = {}): Promise<ArchiveFileInfo[]> {
  const out: ArchiveFileInfo[] = [];
  for (const entry of await partsOf(dir, orgId, asDay(options.from), asDay(options.to))) {
    const file = await openArchiveFile(entry.path);
    try {
      out.push(fileInfo(entry, file));
    } finally {
      await file.close();
    }
  }
  return out;
}
