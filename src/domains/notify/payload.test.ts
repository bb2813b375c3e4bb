import { describe, expect, it } from 'vitest';
import type { NotificationPayload, NotifiedAlert } from '../../contracts/notify.js';
import { deliveredPayload, storedAlert } from './payload.js';

const details = { group_key: 'fraud:c1{sender_id="s"}', firing: 1, external_ids: ['b-1', 'b-2'] };
const alert: NotifiedAlert = {
  id: 'a1',
  source: 'fraud',
  kind: 'match',
  subject_id: 'c1',
  title: '2 shipments from sender_id s matched c1',
  message: 'Firing (1):\n- 2 shipments from sender_id s matched c1',
  details,
  created_at: '2026-12-05T03:00:00.000Z',
  status: 'firing',
  group_key: 'fraud:c1{sender_id="s"}',
  instances: [],
};
const record = { title: alert.title, message: alert.message, details };
const payloadOf = (a: object): Record<string, unknown> => ({ id: 'n1', type: 'alert.firing', alert: a, org_id: 'o1' });

describe('notification payloads of recorded alerts', () => {
  it('are stored without what the record holds, and delivered as they were queued', () => {
    const stored = storedAlert(alert, record);
    expect(stored).not.toHaveProperty('title');
    expect(stored).not.toHaveProperty('message');
    expect(stored).not.toHaveProperty('details');
    expect(stored).toMatchObject({ id: 'a1', status: 'firing', instances: [] });
    // Through the store: what the record and the row hold, as JSON.
    const roundTrip = JSON.parse(JSON.stringify(payloadOf(stored))) as Record<string, unknown>;
    const delivered = deliveredPayload(roundTrip, JSON.parse(JSON.stringify(record)) as typeof record);
    expect(delivered).toEqual(JSON.parse(JSON.stringify(payloadOf(alert))) as NotificationPayload);
  });

  it('keep what differs from the record: the payload wins', () => {
    // raiseAlert records the details with the state; receivers get them without it.
    const recordWithState = { ...record, details: { ...details, state: 'firing' } };
    const stored = storedAlert(alert, recordWithState);
    expect(stored.details).toBe(details);
    expect(stored).not.toHaveProperty('title');
    expect(deliveredPayload(payloadOf(stored), recordWithState)).toEqual(payloadOf(alert));
  });

  it('queued before this form (full payloads) or of no record are delivered as they are', () => {
    const full = payloadOf(alert);
    expect(deliveredPayload(full, { title: 'other', message: 'other', details: { other: true } })).toEqual(full);
    expect(deliveredPayload(full, null)).toBe(full);
  });
});
