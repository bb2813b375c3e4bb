import { channelView, deliveryEvent, type DeliveryEvent } from '@contracts/notify.js';
import type { Channel, Delivery } from './api';

/**
 * Live updates of the channels page: a `channel` event (disabled, re-enabled) replaces the channel
 * in the cached list; a `delivery` event patches the notification in its channel's cached list
 * (its attempts list is refetched: the event does not carry it).
 */

/** The channel in a `channel` live event, if it is one. */
export function channelOfEvent(data: unknown): Channel | undefined {
  const parsed = channelView.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/** The state in a `delivery` live event, if it is one. */
export function deliveryOfEvent(data: unknown): DeliveryEvent | undefined {
  const parsed = deliveryEvent.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/** Replaces a known channel (the list keeps its order; an unknown one is left for the next fetch). */
export function replaceChannel(list: Channel[] | undefined, channel: Channel): Channel[] | undefined {
  return list?.map((c) => (c.id === channel.id ? { ...c, ...channel, secret: c.secret } : c));
}

/** Applies a delivery's new state to its channel's list; false when the list does not have it (refetch then). */
export function patchDelivery(list: Delivery[] | undefined, event: DeliveryEvent): { list: Delivery[] | undefined; found: boolean } {
  if (!list?.some((d) => d.id === event.id)) return { list, found: false };
  return {
    list: list.map((d) =>
      d.id === event.id
        ? { ...d, status: event.status, attempt_count: event.attempt_count, next_attempt_at: event.next_attempt_at, last_error: event.last_error }
        : d,
    ),
    found: true,
  };
}

/** Whether a notification may be re-sent: anything not already waiting for its next attempt. */
export const resendable = (d: Pick<Delivery, 'status'>): boolean => d.status !== 'pending';
