/** Notifier: channel registry (webhook, email, slack) and the outbox worker that delivers alerts. */
export { notifyRoutes } from './http.js';
export { listChannels, recordAlerts, recordedAlertId, type AlertNotice } from './channels.js';
export type { AlertRecord } from './store.js';
export { startNotifier, Notifier } from './outbox-worker.js';

