/**
 * SQL of the shipments domain. Every query on `shipments` filters by the caller's organisation.
 *
 * Invariants:
 * - Idempotent by (org_id, external_id): rows go in with INSERT … ON CONFLICT DO NOTHING, so a
 *   repeated row (in this request or an earlier one) is never stored twice, and `stored` is what
 *   the INSERT reports.
 * - All rows of one request are stored in one transaction: when the answer says 2xx, they are.
 * - Every newly stored shipment is queued for the fraud detector in the same statement (a CTE over
 *   the INSERT's RETURNING; one `shipment_arrival_batches` row per organisation holds the ids):
 *   the detector's queue never misses a committed shipment.
 * - PostgreSQL: COPY into a temporary staging table, then one INSERT … SELECT … ON CONFLICT DO
 *   NOTHING. PGlite (no COPY from a stream): INSERT … SELECT FROM unnest(arrays) in chunks.
 */
import { sql } from 'kysely';
import { copyValue, transactionWithCopy, type CopyIn, type Db, type Store } from '../../platform/store/index.js';
import { shipmentsDb } from './tables.js';

/** One row as stored, in `COLUMNS` order (org_id first). */
export type StoredRow = (string | number | null)[];

/** The columns intake writes, in order; `attributes` is JSON text (cast to jsonb), timestamps ISO text. */
export const COLUMNS = [
  'org_id',
  'external_id',
  'created_at',
  'declared_value',
  'currency',
  'declared_value_usd',
  'weight_kg',
  'length_cm',
  'width_cm',
  'height_cm',
  'pieces',
  'origin_country',
  'destination_country',
  'origin_postcode',
  'destination_postcode',
  'service_level',
  'sender_id',
  'sender_name',
  'sender_email',
  'sender_phone',
  'sender_created_at',
  'recipient_name',
  'recipient_address',
  'recipient_phone',
  'hs_code',
  'description',
  'sales_channel',
  'ip_country',
  'attributes',
] as const;

/** The PostgreSQL type of each column, for the unnest arrays. */
const TYPES: Record<(typeof COLUMNS)[number], string> = {
  org_id: 'uuid',
  external_id: 'text',
  created_at: 'timestamptz',
  declared_value: 'float8',
  currency: 'text',
  declared_value_usd: 'float8',
  weight_kg: 'float8',
  length_cm: 'float8',
  width_cm: 'float8',
  height_cm: 'float8',
  pieces: 'int4',
  origin_country: 'text',
  destination_country: 'text',
  origin_postcode: 'text',
  destination_postcode: 'text',
  service_level: 'text',
  sender_id: 'text',
  sender_name: 'text',
  sender_email: 'text',
  sender_phone: 'text',
  sender_created_at: 'timestamptz',
  recipient_name: 'text',
  recipient_address: 'text',
  recipient_phone: 'text',
  hs_code: 'text',
  description: 'text',
  sales_channel: 'text',
  ip_country: 'text',
  attributes: 'jsonb',
};

/** Rows per unnest INSERT on PGlite: bounds one statement's parameters and memory. */
const UNNEST_CHUNK = 5_000;

/** The platform's rates: currency → US dollars per unit. */
export async function loadRates(db: Db): Promise<Map<string, number>> {
  const rows = await shipmentsDb(db).selectFrom('currency_rates').select(['currency', 'usd_per_unit']).execute();
  return new Map(rows.map((r) => [r.currency, Number(r.usd_per_unit)]));
}

export async function listRates(db: Db) {
  return shipmentsDb(db).selectFrom('currency_rates').selectAll().orderBy('currency').execute();
}

export async function upsertRates(db: Db, rates: { currency: string; usd_per_unit: number }[]): Promise<void> {
  await shipmentsDb(db)
    .insertInto('currency_rates')
    .values(rates.map((r) => ({ currency: r.currency, usd_per_unit: r.usd_per_unit, updated_at: sql<Date>`now()` as unknown as Date })))
    .onConflict((oc) => oc.column('currency').doUpdateSet((eb) => ({ usd_per_unit: eb.ref('excluded.usd_per_unit'), updated_at: sql<Date>`now()` as unknown as Date })))
    .execute();
}

/**
 * Stores the rows in one transaction; answers how many were new (the rest were duplicates).
 * `inSameTransaction` (the table watcher: its new position) runs after the rows, in that
 * transaction, with the number stored: both commit or neither does — even with no rows.
 */
export async function insertShipments(store: Store, rows: StoredRow[], inSameTransaction?: (trx: Db, stored: number) => Promise<void>): Promise<number> {
  if (rows.length === 0 && !inSameTransaction) return 0;
  return transactionWithCopy(store, async (trx, copy) => {
    const stored = rows.length === 0 ? 0 : copy ? await copyInsert(trx, copy, rows) : await unnestInsert(trx, rows);
    await inSameTransaction?.(trx, stored);
    return stored;
  });
}

/**
 * After the CTE `stored` (the INSERT's new rows): their arrival rows, one per organisation
 * (migration 021), and how many shipments were stored (`n`).
 */
const ARRIVALS_OF_STORED = `, queued AS (INSERT INTO shipment_arrival_batches (org_id, ids, shipments)
         SELECT org_id, range_agg(int8range(id, id, '[]')), count(*) FROM stored GROUP BY org_id RETURNING shipments)
       SELECT coalesce(sum(shipments), 0)::int8 AS n FROM queued`;

const storedCount = (rows: readonly { n: string }[]): number => Number(rows[0]?.n ?? 0);

async function copyInsert(trx: Db, copy: CopyIn, rows: StoredRow[]): Promise<number> {
  const columns = COLUMNS.join(', ');
  await sql.raw(`CREATE TEMP TABLE shipments_in ON COMMIT DROP AS SELECT ${columns} FROM shipments WITH NO DATA`).execute(trx);
  await copy('shipments_in', COLUMNS, encode(rows));
  const result = await sql
    .raw<{ n: string }>(
      `WITH stored AS (INSERT INTO shipments (${columns}) SELECT ${columns} FROM shipments_in ON CONFLICT (org_id, external_id) DO NOTHING RETURNING id, org_id)
       ${ARRIVALS_OF_STORED}`,
    )
    .execute(trx);
  return storedCount(result.rows);
}

/** COPY text lines, a few thousand rows per chunk so that encoding overlaps with the server's work. */
function* encode(rows: StoredRow[]): Generator<string> {
  let chunk = '';
  for (let i = 0; i < rows.length; i++) {
    chunk += rows[i]!.map(copyValue).join('\t') + '\n';
    if (i % 2000 === 1999) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

async function unnestInsert(trx: Db, rows: StoredRow[]): Promise<number> {
  let stored = 0;
  for (let start = 0; start < rows.length; start += UNNEST_CHUNK) {
    const chunk = rows.slice(start, start + UNNEST_CHUNK);
    // jsonb arrays go in as text[] and are cast per element (a jsonb[] parameter would need JSON escaping twice).
    const arrays = COLUMNS.map((column, i) => {
      const values = chunk.map((row) => row[i] ?? null);
      const type = TYPES[column] === 'jsonb' ? 'text' : TYPES[column];
      return sql`${values}::${sql.raw(type)}[]`;
    });
    const select = COLUMNS.map((c) => (TYPES[c] === 'jsonb' ? `${c}::jsonb` : c)).join(', ');
    const result = await sql<{ n: string }>`WITH stored AS (INSERT INTO shipments (${sql.raw(COLUMNS.join(', '))})
      SELECT ${sql.raw(select)} FROM unnest(${sql.join(arrays)}) AS t(${sql.raw(COLUMNS.join(', '))})
      ON CONFLICT (org_id, external_id) DO NOTHING RETURNING id, org_id)
      ${sql.raw(ARRIVALS_OF_STORED)}`.execute(trx);
    stored += storedCount(result.rows);
  }
  return stored;
}

export async function findShipment(db: Db, orgId: string, externalId: string) {
  return shipmentsDb(db).selectFrom('shipments').selectAll().where('org_id', '=', orgId).where('external_id', '=', externalId).executeTakeFirst();
}

/** One shipment by its internal id (what fraud alerts point at), within the organisation. */
export async function findShipmentById(db: Db, orgId: string, id: string | number) {
  return shipmentsDb(db).selectFrom('shipments').selectAll().where('org_id', '=', orgId).where('id', '=', Number(id)).executeTakeFirst();
}

/** The organisation's shipments, newest `created_at` first (ties: latest intake first), after the cursor. */
export async function listShipments(db: Db, orgId: string, limit: number, before: { createdAt: string; id: number } | undefined) {
  let query = shipmentsDb(db).selectFrom('shipments').selectAll().where('org_id', '=', orgId);
  if (before) query = query.where(sql<boolean>`(created_at, id) < (${before.createdAt}::timestamptz, ${before.id}::bigint)`);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}
