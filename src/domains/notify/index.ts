/** Notifier: channel registry (webhook, email, slack) and the outbox worker that delivers alerts. */
export { notifyRoutes } from './http.js';
export { enqueueNotificationBatch, enqueueNotifications, listChannels, type NotificationRequest } from './channels.js';
export { startNotifier, Notifier } from './outbox-worker.js';

