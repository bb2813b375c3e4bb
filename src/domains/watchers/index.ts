/**
 * Shipment table watchers (issue 10, "Shipments in"): read newly inserted rows of a table of the
 * platform's own PostgreSQL into shipments, exactly once, also when bulk transactions commit out
 * of order (position.ts), configured by platform administrators (API, CLI).
 */
export { watcherRoutes } from './http.js';
export { startShipmentWatchers } from './worker.js';
export { createWatcher, listWatchers, removeWatcher, resolveWatcher } from './verbs.js';
