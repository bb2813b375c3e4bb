/**
 * The shipments domain's tables (migration 014): customers' shipments and the platform's currency
 * rates, plus (migration 016) the arrivals the fraud detector claims. Only this domain's modules run SQL on them, through `shipmentsDb(db)`.
 */
import type { ColumnType, Kysely } from 'kysely';
import { ownTables, type BigSerial, type Db, type NullableTimestamp, type Timestamp } from '../../platform/store/index.js';

export interface ShipmentsTable {
  id: BigSerial;
  org_id: string;
  external_id: string;
  created_at: Timestamp;
  declared_value: number | null;
  currency: string | null;
  declared_value_usd: number | null;
  weight_kg: number | null;
  length_cm: number | null;
  width_cm: number | null;
  height_cm: number | null;
  pieces: number | null;
  origin_country: string | null;
  destination_country: string | null;
  origin_postcode: string | null;
  destination_postcode: string | null;
  service_level: string | null;
  sender_id: string | null;
  sender_name: string | null;
  sender_email: string | null;
  sender_phone: string | null;
  sender_created_at: NullableTimestamp;
  recipient_name: string | null;
  recipient_address: string | null;
  recipient_phone: string | null;
  hs_code: string | null;
  description: string | null;
  sales_channel: string | null;
  ip_country: string | null;
  attributes: ColumnType<Record<string, unknown>, string | undefined, string>;
  received_at: Timestamp;
}

export interface CurrencyRatesTable {
  currency: string;
  usd_per_unit: number;
  updated_at: Timestamp;
}

/** One intake statement's new shipments of one organisation, waiting for the fraud detector (migration 021). */
export interface ShipmentArrivalBatchesTable {
  id: ColumnType<string | number, never, never>;
  org_id: string;
  /** int8multirange text, e.g. {[1,4),[7,8)}. */
  ids: string;
  shipments: number;
}

export interface ShipmentsTables {
  shipments: ShipmentsTable;
  currency_rates: CurrencyRatesTable;
  shipment_arrival_batches: ShipmentArrivalBatchesTable;
}

export const shipmentsDb = (db: Db): Kysely<ShipmentsTables> => ownTables<ShipmentsTables>(db);
