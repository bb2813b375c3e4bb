export { notificationPayloadSchema, raiseAlert, type AlertInput, type AlertState, type NotificationPayload } from './alerts.js';
