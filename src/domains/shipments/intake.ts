/**
 * The shipment verbs: bulk intake (decode → validate → convert → store), reading, and the rates.
 *
 * Invariants:
 * - A 2xx answer means every row counted in `stored` is committed (one transaction per request).
 * - `declared_value_usd` = declared_value × the rate of `currency` read at intake; a row whose
 *   currency has no rate is refused naming `currency`, a value without a currency naming it too.
 * - Tenancy: rows are stored under, and read from, the caller's organisation only.
 */
import type { z } from 'zod';
import { MAX_LISTED_ROW_ERRORS, MAX_SHIPMENTS_PER_REQUEST, type shipmentIntakeAnswer, type shipmentView } from '../../contracts/shipments.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import { pgJson, pgText, type Db, type Store } from '../../platform/store/index.js';
import { arrayRows, csvRows, ndjsonRows, sniffFormat, validateRows, type BodyFormat, type RawRow, type RowError, type ValidRow } from './rows.js';
import { announceArrivals } from './for-fraud.js';
import { findShipment, findShipmentById, insertShipments, listRates, listShipments, loadRates, upsertRates, type StoredRow } from './store.js';

type IntakeAnswer = z.infer<typeof shipmentIntakeAnswer>;
type ShipmentView = z.infer<typeof shipmentView>;

/** Decodes a body of the given format into raw rows (and the rows that could not even be decoded). */
export function decodeBody(format: BodyFormat | 'sniff', body: unknown): { rows: RawRow[]; errors: RowError[] } {
  if (format === 'sniff') {
    const text = textOf(body);
    const sniffed = sniffFormat(text);
    if (sniffed !== 'json') return decodeBody(sniffed, text);
    return decodeBody('json', parseArray(text, 'starts with [ but is not a JSON array'));
  }
  if (format === 'json') {
    // The route hands JSON over as text (http.ts says why); callers in-process may pass it parsed.
    if (typeof body === 'string' || Buffer.isBuffer(body)) return decodeBody('json', parseArray(textOf(body), 'is not JSON'));
    if (!Array.isArray(body)) throw invalidField('body', 'must be a JSON array of shipments (or send NDJSON or CSV)');
    return { rows: arrayRows(body), errors: [] };
  }
  const text = textOf(body);
  return format === 'csv' ? csvRows(text) : ndjsonRows(text);
}

/**
 * JSON text as a value. A "__proto__" key becomes an own property (JSON.parse never sets a
 * prototype), which the row's schema then refuses as an unknown field.
 */
function parseArray(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidField('body', `${what} (${(error as Error).message}); send a JSON array, NDJSON or CSV`);
  }
}

const textOf = (body: unknown): string => (typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : '');

/** Converts valid rows to stored rows, refusing those whose currency has no rate. */
export function toStoredRows(orgId: string, valid: ValidRow[], rates: Map<string, number>): { rows: StoredRow[]; errors: RowError[] } {
  const rows: StoredRow[] = [];
  const errors: RowError[] = [];
  for (const { line, shipment: s } of valid) {
    let usd: number | null = null;
    if (s.currency !== undefined) {
      const rate = rates.get(s.currency);
      if (rate === undefined) {
        errors.push({ line, field: 'currency', message: `no rate for ${s.currency}: unknown currency (see GET /api/v1/currency-rates)` });
        continue;
      }
      if (s.declared_value !== undefined) usd = Math.round(s.declared_value * rate * 100) / 100;
    } else if (s.declared_value !== undefined) {
      errors.push({ line, field: 'currency', message: 'is required with declared_value' });
      continue;
    }
    // NUL (and, in attributes, lone-surrogate escapes) would fail the whole batch's statement:
    // replaced by U+FFFD, as everywhere else Vigil stores text (NDJSON and CSV bodies skip the
    // JSON body cleaning of the HTTP layer).
    const row: StoredRow = [
      orgId,
      s.external_id,
      s.created_at,
      s.declared_value ?? null,
      s.currency ?? null,
      usd,
      s.weight_kg ?? null,
      s.dimensions_cm?.length ?? null,
      s.dimensions_cm?.width ?? null,
      s.dimensions_cm?.height ?? null,
      s.pieces ?? null,
      s.origin_country ?? null,
      s.destination_country ?? null,
      s.origin_postcode ?? null,
      s.destination_postcode ?? null,
      s.service_level ?? null,
      s.sender_id ?? null,
      s.sender_name ?? null,
      s.sender_email ?? null,
      s.sender_phone ?? null,
      s.sender_created_at ?? null,
      s.recipient_name ?? null,
      s.recipient_address ?? null,
      s.recipient_phone ?? null,
      s.hs_code ?? null,
      s.description ?? null,
      s.sales_channel ?? null,
      s.ip_country ?? null,
      pgJson(s.attributes ?? {}),
    ];
    rows.push(row.map((v, i) => (typeof v === 'string' && i < row.length - 1 ? pgText(v) : v)));
  }
  return { rows, errors };
}

/** Bulk intake of one request's body for one organisation. */
export async function intakeShipments(store: Store, orgId: string, format: BodyFormat | 'sniff', body: unknown): Promise<IntakeAnswer> {
  const decoded = decodeBody(format, body);
  const total = decoded.rows.length + decoded.errors.length;
  if (total > MAX_SHIPMENTS_PER_REQUEST) {
    throw new DomainError('payload_too_large', `At most ${MAX_SHIPMENTS_PER_REQUEST} shipments per request (this one has ${total}); split it.`);
  }
  if (total === 0) throw invalidField('body', 'no shipments in the body');
  const checked = validateRows(decoded.rows);
  const converted = toStoredRows(orgId, checked.valid, await loadRates(store.db));
  const stored = await insertShipments(store, converted.rows);
  // Committed: wake the fraud detector of this process (others poll the arrivals queue).
  if (stored > 0) announceArrivals();
  const errors = [...decoded.errors, ...checked.errors, ...converted.errors].sort((a, b) => a.line - b.line);
  return {
    stored,
    duplicates: converted.rows.length - stored,
    rejected: errors.length,
    errors: errors.slice(0, MAX_LISTED_ROW_ERRORS),
    errors_omitted: Math.max(0, errors.length - MAX_LISTED_ROW_ERRORS),
  };
}

type Row = NonNullable<Awaited<ReturnType<typeof findShipment>>>;
const iso = (d: Date | string) => new Date(d).toISOString();
const num = (v: number | string | null) => (v === null ? undefined : Number(v));

function view(r: Row): ShipmentView {
  const optional = {
    declared_value: num(r.declared_value),
    currency: r.currency ?? undefined,
    weight_kg: num(r.weight_kg),
    dimensions_cm: r.length_cm !== null && r.width_cm !== null && r.height_cm !== null ? { length: Number(r.length_cm), width: Number(r.width_cm), height: Number(r.height_cm) } : undefined,
    pieces: num(r.pieces),
    origin_country: r.origin_country ?? undefined,
    destination_country: r.destination_country ?? undefined,
    origin_postcode: r.origin_postcode ?? undefined,
    destination_postcode: r.destination_postcode ?? undefined,
    service_level: r.service_level ?? undefined,
    sender_id: r.sender_id ?? undefined,
    sender_name: r.sender_name ?? undefined,
    sender_email: r.sender_email ?? undefined,
    sender_phone: r.sender_phone ?? undefined,
    sender_created_at: r.sender_created_at ? iso(r.sender_created_at) : undefined,
    recipient_name: r.recipient_name ?? undefined,
    recipient_address: r.recipient_address ?? undefined,
    recipient_phone: r.recipient_phone ?? undefined,
    hs_code: r.hs_code ?? undefined,
    description: r.description ?? undefined,
    sales_channel: r.sales_channel ?? undefined,
    ip_country: r.ip_country ?? undefined,
  };
  const present = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined));
  return {
    external_id: r.external_id,
    created_at: iso(r.created_at),
    ...present,
    declared_value_usd: r.declared_value_usd === null ? null : Number(r.declared_value_usd),
    attributes: typeof r.attributes === 'string' ? (JSON.parse(r.attributes) as Record<string, unknown>) : r.attributes,
    received_at: iso(r.received_at),
  };
}

export async function getShipment(db: Db, orgId: string, externalId: string): Promise<ShipmentView> {
  const row = await findShipment(db, orgId, externalId);
  if (!row) throw notFound('Shipment');
  return view(row);
}

/** One shipment by its internal id (fraud alerts point at it); undefined when the organisation has none such. */
export async function shipmentById(db: Db, orgId: string, id: string | number): Promise<ShipmentView | undefined> {
  const row = await findShipmentById(db, orgId, id);
  return row ? view(row) : undefined;
}

/** A page of the organisation's newest shipments; the cursor is `<created_at ISO>~<id>`. */
export async function pageShipments(db: Db, orgId: string, limit: number, before: string | undefined) {
  let cursor: { createdAt: string; id: number } | undefined;
  if (before !== undefined) {
    const [at, id] = before.split('~');
    if (!at || !id || !/^\d{1,18}$/.test(id) || Number.isNaN(Date.parse(at))) throw invalidField('before', 'must be the next_before of a previous page');
    cursor = { createdAt: at, id: Number(id) };
  }
  const rows = await listShipments(db, orgId, limit, cursor);
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return { shipments: rows.map(view), next_before: last ? `${iso(last.created_at)}~${String(last.id)}` : null };
}

export async function currencyRates(db: Db) {
  const rows = await listRates(db);
  return { rates: rows.map((r) => ({ currency: r.currency, usd_per_unit: Number(r.usd_per_unit), updated_at: iso(r.updated_at) })) };
}

export async function setCurrencyRates(db: Db, rates: { currency: string; usd_per_unit: number }[]) {
  await upsertRates(db, rates);
  return currencyRates(db);
}
