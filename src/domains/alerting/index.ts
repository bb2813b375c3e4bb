export { raiseAlert, type AlertInput } from './alerts.js';
// The receivers' payload is a wire contract (contracts/alerting.ts); re-exported for the notifier.
export { notificationPayloadSchema, type AlertState, type NotificationPayload } from '../../contracts/alerting.js';
export type { AlertsTable, AlertingTables } from './tables.js';
