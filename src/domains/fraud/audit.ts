/**
 * The fraud audit log: who changed which criterion or list, what (field → from/to) and when.
 *
 * Invariants:
 * - An entry is written in the same transaction as the change it describes: no change without its
 *   entry, no entry for a change that rolled back.
 * - `actor` is the name as it was at the time (a user's e-mail, `API key "ci"`), so the log still says
 *   who it was after the user or key is gone; null for Vigil itself (a criterion paused by the detector).
 * - Entries are never updated or deleted (a deleted criterion's history stays readable).
 */
import { sql } from 'kysely';
import type { z } from 'zod';
import type { fraudAuditEntry, fraudAuditQuery } from '../../contracts/fraud.js';
import { newId } from '../../platform/ids.js';
import type { Db } from '../../platform/store/index.js';
import { fraudDb } from './tables.js';

type AuditEntry = z.infer<typeof fraudAuditEntry>;
export type AuditAction = AuditEntry['action'];
export type Changes = Record<string, { from: unknown; to: unknown }>;

export interface AuditRecord {
  orgId: string;
  actor: string | null;
  action: AuditAction;
  criterionId?: string | null;
  listName?: string | null;
  version?: number | null;
  changes?: Changes;
  at?: Date;
}

/** Appends one entry; call it with the transaction that makes the change. */
export async function recordAudit(db: Db, entry: AuditRecord): Promise<void> {
  await fraudDb(db)
    .insertInto('fraud_audit')
    .values({
      id: newId(),
      org_id: entry.orgId,
      // clock_timestamp, not now(): entries of one transaction keep their order.
      at: entry.at ?? sql<Date>`clock_timestamp()`,
      actor: entry.actor,
      action: entry.action,
      criterion_id: entry.criterionId ?? null,
      list_name: entry.listName ?? null,
      version: entry.version ?? null,
      changes: JSON.stringify(entry.changes ?? {}),
    })
    .execute();
}

/**
 * The fields whose values differ between `before` and `after` (compared as JSON, so arrays and
 * objects compare by value), each with both values; fields of `after` only.
 */
export function changesBetween(before: Record<string, unknown> | null, after: Record<string, unknown>): Changes {
  const changes: Changes = {};
  for (const [field, to] of Object.entries(after)) {
    const from = before === null ? null : (before[field] ?? null);
    if (before === null || JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from, to };
  }
  return changes;
}

/** The organisation's audit entries, newest first, optionally of one criterion. */
export async function listAudit(db: Db, orgId: string, query: z.output<typeof fraudAuditQuery>): Promise<AuditEntry[]> {
  let q = fraudDb(db).selectFrom('fraud_audit').selectAll().where('org_id', '=', orgId);
  if (query.criterion_id !== undefined) q = q.where('criterion_id', '=', query.criterion_id);
  const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
  return rows.map((r) => ({
    id: r.id,
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    action: r.action as AuditAction,
    criterion_id: r.criterion_id,
    list_name: r.list_name,
    version: r.version,
    changes: typeof r.changes === 'string' ? (JSON.parse(r.changes) as Changes) : r.changes,
  }));
}
