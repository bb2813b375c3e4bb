/** Notifier: channel registry (webhook, email, slack) and the outbox worker that delivers alerts. */
export { notifyRoutes } from './http.js';
export { startNotifier, Notifier, type NotifierOptions } from './outbox-worker.js';
export {
  createChannel,
  listChannels,
  getChannel,
  deleteChannel,
  listDeliveries,
  queueTestNotification,
  generateWebhookSecret,
  type ChannelInput,
  type ChannelView,
  type DeliveryView,
} from './channels.js';
export { DEFAULT_BACKOFF, nextRetry, retryDelayMs, type BackoffPolicy } from './backoff.js';
