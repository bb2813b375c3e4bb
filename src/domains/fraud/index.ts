/**
 * Shipment fraud alerts (issue 10): criteria in CEL, velocity aggregates, the detector and backtests.
 */
export { checkExpression, fraudSchemaFor } from './cel.js';
export { runBacktest } from './backtest.js';
export { startFraudDetector } from './detector.js';
