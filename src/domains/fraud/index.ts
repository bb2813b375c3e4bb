/**
 * Shipment fraud alerts (issue 10): customers' criteria (CEL over shipments, lists and velocity
 * aggregates) with immutable versions and an audit log, their lists, the editor's checker and
 * schema, the detector and backtests, and the alert inbox with verdicts.
 */
export { fraudRoutes } from './http.js';
export { checkExpression } from './cel.js';
export { runBacktest } from './backtest.js';
export { startFraudDetector } from './detector.js';
