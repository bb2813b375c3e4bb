/** Notifier: channel registry (webhook, email, slack) and the outbox worker that delivers alerts. */
export { notifyRoutes } from './http.js';
export { enqueueNotifications, listChannels } from './channels.js';
export { startNotifier, Notifier } from './outbox-worker.js';

