/**
 * The cold archive as domain verbs: an organisation's archived files, and a search over them with
 * the filters and answer of the hot search. Every path is under the organisation's folder of the
 * archive, so no answer can hold another organisation's events.
 */
import type { z } from 'zod';
import type { ArchiveListAnswer, ArchiveSearchAnswer, archiveListQuery, archiveSearchQuery } from '../../contracts/logs.js';
import { listArchive, searchArchive } from '../../platform/archive/index.js';
import { badRequest } from '../../platform/errors.js';
import { toLogEventAnswer } from './event.js';

/** 0001-01-01 and 10000-01-01: the range a search without from/to covers (every timestamp ingest accepts). */
const EARLIEST_MS = -62_135_596_800_000;
const LATEST_MS = 253_402_300_800_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One organisation's archived files from day `from` to day `to` (both optional), oldest first. */
export async function listArchivedFiles(dir: string, orgId: string, query: z.infer<typeof archiveListQuery>): Promise<ArchiveListAnswer> {
  const { from, to } = query;
  if (from !== undefined && to !== undefined && from > to) throw badRequest(`from (${from}) is after to (${to}): give the earlier day first`);
  const files = await listArchive(dir, orgId, { from, to });
  return {
    files: files.map((f) => ({
      day: f.day,
      part: f.part,
      from: iso(f.minTs),
      to: iso(f.maxTs),
      rows: f.rows,
      bytes: f.bytes,
      created: new Date(f.createdAt).toISOString(),
    })),
  };
}

/** One organisation's archived events matching `query`, newest first, a page at a time. */
export async function searchArchivedEvents(dir: string, orgId: string, query: z.infer<typeof archiveSearchQuery>): Promise<ArchiveSearchAnswer> {
  const { from, to, limit, cursor, q, service, status, section } = query;
  const fromMs = from === undefined ? EARLIEST_MS : Date.parse(from);
  const toMs = to === undefined ? LATEST_MS : Date.parse(to);
  if (fromMs >= toMs) throw badRequest(`from (${from ?? 'the beginning'}) must be before to (${to ?? 'the end'})`);
  const result = await searchArchive(dir, orgId, {
    from: fromMs,
    to: toMs,
    limit,
    ...(cursor !== undefined ? { cursor } : {}),
    ...(q !== undefined && q !== '' ? { q } : {}),
    ...(service ? { service } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(section ? { section } : {}),
  });
  return {
    events: result.rows.map(toLogEventAnswer),
    next_cursor: result.nextCursor,
    scanned: { files: result.scanned.files, row_groups: result.scanned.rowGroups, rows: result.scanned.rows },
  };
}
