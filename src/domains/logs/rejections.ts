import { sql } from 'kysely';
import type { ListedRejection, RejectionsAnswer } from '../../contracts/logs.js';
import { cleanText, pgJson, type Db } from '../../platform/store/index.js';
import { logsDb } from './tables.js';

export type { ListedRejection };

/**
 * Refused and set-aside log events (table `log_rejections`, migration 004): recorded at ingest and
 * by the stream processor, listed per organisation. What is stored is bounded (rows per request,
 * characters per reason and sample) so a flood of bad events cannot become a flood of writes.
 */

export type RejectionStage = ListedRejection['stage'];

export interface RejectionPosition {
  index?: number;
  line?: number;
  path?: string;
}

export interface RejectionRecord {
  stage: RejectionStage;
  protocol: string | null;
  position: RejectionPosition;
  reason: string;
  /** The event (or its start) as the sender or the processor saw it; cut to MAX_SAMPLE_CHARS. */
  sample?: string | null;
}

/** Rows recorded per request (the sender's answer names every rejection; the list keeps a sample). */
export const MAX_RECORDED_PER_REQUEST = 100;
const MAX_REASON_CHARS = 1000;
export const MAX_SAMPLE_CHARS = 2000;

const cut = (s: string, max: number): string => cleanText(s.length > max ? `${s.slice(0, max - 3)}...` : s);

/**
 * The start of a value as JSON, for a sample: never throws (the value may be the very event JSON
 * could not encode) and never serialises more than it has to.
 */
export function sampleOf(value: unknown): string {
  try {
    return cut(JSON.stringify(value) ?? String(value), MAX_SAMPLE_CHARS);
  } catch (error) {
    return `(cannot be shown as JSON: ${error instanceof Error ? error.message : String(error)})`;
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Stores rejections of one organisation (inside the caller's transaction when `db` is one). */
export async function recordRejections(db: Db, orgId: string, records: readonly RejectionRecord[]): Promise<void> {
  // A malformed bus message may carry anything as its organisation: the uuid cast would fail the transaction.
  if (records.length === 0 || !UUID_RE.test(orgId)) return;
  const rows = records.slice(0, MAX_RECORDED_PER_REQUEST);
  await sql`
    INSERT INTO log_rejections (org_id, stage, protocol, position, reason, sample)
    SELECT ${orgId}::uuid, * FROM unnest(
      ${rows.map((r) => r.stage)}::text[], ${rows.map((r) => r.protocol)}::text[],
      ${rows.map((r) => pgJson(r.position))}::jsonb[], ${rows.map((r) => cut(r.reason, MAX_REASON_CHARS))}::text[],
      ${rows.map((r) => (r.sample == null ? null : cut(r.sample, MAX_SAMPLE_CHARS)))}::text[])`.execute(db);
}

/** Newest first; `before` is the id of the last row of the previous page. */
export async function listRejections(db: Db, orgId: string, query: { limit: number; before?: string | undefined }): Promise<RejectionsAnswer> {
  let q = logsDb(db).selectFrom('log_rejections').selectAll().where('org_id', '=', orgId);
  if (query.before !== undefined) q = q.where(sql<boolean>`id < ${query.before}::bigint`);
  const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute();
  const page = rows.slice(0, query.limit);
  return {
    rejections: page.map((r) => ({
      id: String(r.id),
      at: new Date(r.at).toISOString(),
      stage: r.stage,
      protocol: r.protocol,
      index: r.position.index ?? null,
      line: r.position.line ?? null,
      path: r.position.path ?? null,
      reason: r.reason,
      sample: r.sample,
    })),
    next_before: rows.length > query.limit && page.length > 0 ? String(page[page.length - 1]!.id) : null,
  };
}

/** Drops rejections older than `before` (the retention job, with the hot store's horizon). */
export async function pruneRejections(db: Db, before: Date): Promise<number> {
  const result = await logsDb(db).deleteFrom('log_rejections').where('at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
