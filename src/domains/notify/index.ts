/** Notifier: channel registry (webhook, email, slack) and the outbox worker that delivers alerts. */
export { notifyRoutes } from './http.js';
export { enqueueNotifications, listChannelIds, listChannels, type NotificationRequest } from './channels.js';
export { startNotifier, Notifier, type NotifierDeps, type NotifierSettings } from './outbox-worker.js';
export type { ChannelKind, NotifyTables } from './tables.js';
export type { NotificationPayload, NotifiedAlert } from '../../contracts/notify.js';
