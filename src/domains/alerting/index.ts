export { raiseAlert, type AlertInput, type AlertState } from './alerts.js';
export type { AlertsTable, AlertingTables } from './tables.js';
