import { describe, expect, it } from 'vitest';
import type { Channel, Delivery } from './api';
import { channelOfEvent, deliveryOfEvent, patchDelivery, replaceChannel, resendable } from './channels';

const channel: Channel = { id: 'c1', kind: 'webhook', name: 'hook', url: 'https://x', secret: 'whsec_********', created_at: '2026-01-01T00:00:00.000Z', disabled_at: null, disabled_reason: null };
const delivery: Delivery = {
  id: 'd1',
  channel_id: 'c1',
  alert_id: null,
  type: 'alert.firing',
  title: 't',
  status: 'pending',
  attempt_count: 1,
  next_attempt_at: '2026-01-01T00:00:05.000Z',
  last_error: 'HTTP 503',
  created_at: '2026-01-01T00:00:00.000Z',
  delivered_at: null,
  attempts: [],
};

describe('channels page live updates', () => {
  it('reads channel and delivery events, ignoring anything else', () => {
    expect(channelOfEvent(channel)).toEqual(channel);
    expect(channelOfEvent({ id: 'c1' })).toBeUndefined();
    const event = { id: 'd1', channel_id: 'c1', status: 'delivered', attempt_count: 2, next_attempt_at: null, last_error: null };
    expect(deliveryOfEvent(event)).toEqual(event);
    expect(deliveryOfEvent({ ...event, status: 'nope' })).toBeUndefined();
  });

  it('replaces a known channel in place', () => {
    const disabled = { ...channel, disabled_at: '2026-01-02T00:00:00.000Z', disabled_reason: 'dead' };
    expect(replaceChannel([channel], disabled)).toEqual([disabled]);
    expect(replaceChannel([channel], { ...disabled, id: 'other' })).toEqual([channel]);
    expect(replaceChannel(undefined, disabled)).toBeUndefined();
  });

  it('patches a delivery state, and says when it is not in the list', () => {
    const event = { id: 'd1', channel_id: 'c1', status: 'delivered' as const, attempt_count: 2, next_attempt_at: null, last_error: null };
    const patched = patchDelivery([delivery], event);
    expect(patched.found).toBe(true);
    expect(patched.list?.[0]).toMatchObject({ status: 'delivered', attempt_count: 2, next_attempt_at: null, last_error: null, title: 't' });
    expect(patchDelivery([delivery], { ...event, id: 'd2' }).found).toBe(false);
    expect(patchDelivery(undefined, event).found).toBe(false);
  });

  it('offers re-send for everything but a pending delivery', () => {
    expect(resendable({ status: 'pending' })).toBe(false);
    for (const status of ['delivered', 'failed', 'skipped'] as const) expect(resendable({ status })).toBe(true);
  });
});
