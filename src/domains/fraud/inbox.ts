/**
 * The alert inbox of an organisation: its fraud alerts filtered and paged, one alert with its
 * shipment, acknowledgement and verdicts (fraud / false positive / benign: the customer's own
 * statistics of each criterion's precision).
 *
 * Invariants:
 * - One verdict per alert: setting it again replaces it (who and when are those of the last one).
 * - The first acknowledgement is kept; acknowledging again changes nothing.
 * - Another organisation's alert is "not found", whatever the route.
 */
import type { z } from 'zod';
import type { FraudAlertView, FraudVerdict, fraudAlertDetail, fraudAlertQuery } from '../../contracts/fraud.js';
import { invalidField, notFound } from '../../platform/errors.js';
import { isUuid } from '../../platform/ids.js';
import { parseInstant } from '../../platform/instants.js';
import type { Db } from '../../platform/store/index.js';
import { shipmentById } from '../shipments/index.js';
import { acknowledgeAlertRow, selectAlert, selectAlerts, setVerdictRow, type AlertRow } from './inbox-store.js';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function alertViewOf(r: AlertRow): FraudAlertView {
  return {
    id: r.id,
    criterion_id: r.criterion_id,
    criterion_name: r.criterion_name,
    criterion_version: r.criterion_version,
    external_id: r.external_id,
    shipment_created_at: iso(r.shipment_created_at)!,
    matched_at: iso(r.matched_at)!,
    shadow: r.shadow,
    severity: r.severity,
    values: typeof r.values === 'string' ? (JSON.parse(r.values) as Record<string, unknown>) : r.values,
    acknowledged_at: iso(r.acknowledged_at),
    acknowledged_by: r.acknowledged_by,
    verdict: r.verdict,
    verdict_note: r.verdict_note,
    verdict_by: r.verdict_by,
    verdict_at: iso(r.verdict_at),
  };
}

/** `<matched_at in microseconds since the epoch>~<alert id>`: the last row of a page. */
export function cursorOf(r: Pick<AlertRow, 'matched_micros' | 'id'>): string {
  return `${r.matched_micros}~${r.id}`;
}

export function parseCursor(text: string): { micros: bigint; id: string } {
  const [micros, id, ...rest] = text.split('~');
  if (rest.length > 0 || !micros || !/^\d{1,18}$/.test(micros) || !id || !isUuid(id)) throw invalidField('before', 'must be the next_before of a previous page');
  return { micros: BigInt(micros), id };
}

export async function listFraudAlerts(db: Db, orgId: string, q: z.output<typeof fraudAlertQuery>, now = new Date()) {
  let since: Date | undefined;
  if (q.since !== undefined) {
    const seconds = parseInstant(q.since, now.getTime() / 1000);
    if (seconds === null) throw invalidField('since', `"${q.since}" is not an instant: use ISO 8601 with a zone, e.g. 2026-03-01T12:00:00Z`);
    since = new Date(seconds * 1000);
  }
  const rows = await selectAlerts(db, orgId, {
    status: q.status,
    shadow: q.shadow,
    limit: q.limit,
    ...(q.criterion_id !== undefined ? { criterionId: q.criterion_id } : {}),
    ...(q.external_id !== undefined ? { externalId: q.external_id } : {}),
    ...(q.verdict !== undefined ? { verdict: q.verdict } : {}),
    ...(since ? { since } : {}),
    ...(q.before !== undefined ? { before: parseCursor(q.before) } : {}),
  });
  const last = rows.length === q.limit ? rows[rows.length - 1] : undefined;
  return { alerts: rows.map(alertViewOf), next_before: last ? cursorOf(last) : null };
}

async function alertOf(db: Db, orgId: string, id: string): Promise<AlertRow> {
  const row = await selectAlert(db, orgId, id);
  if (!row) throw notFound('Alert');
  return row;
}

export async function getFraudAlert(db: Db, orgId: string, id: string): Promise<z.infer<typeof fraudAlertDetail>> {
  const row = await alertOf(db, orgId, id);
  const shipment = await shipmentById(db, orgId, row.shipment_id);
  return { alert: alertViewOf(row), shipment: shipment ?? null };
}

export async function acknowledgeFraudAlert(db: Db, orgId: string, id: string, by: string | null, now = new Date()): Promise<FraudAlertView> {
  if (!(await acknowledgeAlertRow(db, orgId, id, by, now))) throw notFound('Alert');
  return alertViewOf(await alertOf(db, orgId, id));
}

export async function setFraudVerdict(db: Db, orgId: string, id: string, verdict: FraudVerdict, note: string, by: string | null, now = new Date()): Promise<FraudAlertView> {
  if (!(await setVerdictRow(db, orgId, id, verdict, note, by, now))) throw notFound('Alert');
  return alertViewOf(await alertOf(db, orgId, id));
}
