/**
 * What the rules domain reads of the logs domain: the raw events of a range of event-time seconds,
 * for rule metrics and filters the statistics cannot answer (percentiles, host, attributes,
 * message). Too-late events are left out, as the statistics leave them out.
 */
import type { Db } from '../../platform/store/index.js';
import { logsDb } from './tables.js';

export interface RuleEventRow {
  /** The event's 1-second bucket (ceil of its time), unix seconds. */
  second: number;
  service: string | null;
  section: string | null;
  status: number | null;
  method: string | null;
  host: string | null;
  message: string;
  bytes: number | null;
  durationMs: number | null;
  attributes: Record<string, unknown>;
  /** A request event (path, status or method): the statistics count only these. */
  request: boolean;
}

/** Events whose bucket is in `after < s <= through` (times in `(after, through]`), by time. */
export async function eventsOfSeconds(db: Db, orgId: string, after: number, through: number): Promise<RuleEventRow[]> {
  const rows = await logsDb(db)
    .selectFrom('log_events')
    .select(['ts', 'service', 'section', 'status', 'method', 'host', 'message', 'bytes', 'duration_ms', 'attributes', 'path'])
    .where('org_id', '=', orgId)
    .where('ts', '>', new Date(after * 1000))
    .where('ts', '<=', new Date(through * 1000))
    .where('too_late', '=', false)
    .orderBy('ts')
    .execute();
  return rows.map((r) => ({
    second: Math.ceil(r.ts.getTime() / 1000),
    service: r.service,
    section: r.section,
    status: r.status,
    method: r.method,
    host: r.host,
    message: r.message,
    bytes: r.bytes === null ? null : Number(r.bytes),
    durationMs: r.duration_ms,
    attributes: r.attributes,
    request: r.path !== null || r.status !== null || r.method !== null,
  }));
}
