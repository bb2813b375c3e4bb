/** Notifier: channel registry (webhook, email, slack) and the outbox worker that delivers alerts. */
export { notifyRoutes } from './http.js';
export { listChannels } from './channels.js';
export { startNotifier, Notifier } from './outbox-worker.js';
export { queueAlertNotifications, type AlertNotifications } from './for-alerting.js';
