/**
 * Shipments (issue 10): bulk intake of customers' shipments (JSON, NDJSON, CSV; idempotent by
 * external_id; bad rows reported, good rows stored), their listing, and the platform's currency
 * rates that derive `declared_value_usd`.
 */
export { shipmentRoutes } from './http.js';
export { shipmentById } from './intake.js';
export { arrivedShipments, claimArrivals, entityHistory, idRuns, onArrivals, shipmentsCreatedIn, waitingOrgs, type ClaimScope, type HistoryRow, type ShipmentFacts } from './for-fraud.js';
export { intakeWatchedRows, type WatchedRow } from './for-watchers.js';
