import { describe, expect, it } from 'vitest';
import { encodeLogMessages, logMessagesFor, readLogMessage } from './bus-codec.js';
import type { NormalisedEvent } from './normalise.js';

const event = (message: string, attributes: Record<string, unknown> = {}): NormalisedEvent => ({
  timestamp: 1_700_000_000_000,
  receivedAt: 1_700_000_000_500,
  service: 'web',
  host: 'h1',
  source: null,
  level: 'info',
  message,
  method: 'GET',
  path: '/api/x',
  section: '/api',
  status: 200,
  bytes: 10,
  durationMs: 1.5,
  remoteAddr: '10.0.0.1',
  userAgent: null,
  attributes,
});

describe('log messages on the bus', () => {
  it('round-trips events and splits a request into messages that fit, keeping order', () => {
    const events = Array.from({ length: 100 }, (_, i) => event(`line ${i} ${'x'.repeat(200)}`));
    const messages = encodeLogMessages('org-1', events, 5_000);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.byteLength).toBeLessThanOrEqual(5_000);
    const back = messages.flatMap((m) => readLogMessage({ data: m }).events);
    expect(back).toEqual(events);
    expect(readLogMessage({ data: messages[0]! }).orgId).toBe('org-1');
  });

  it('hands the events over as they are on the in-process bus, in slices whose size keeps the queue bound', () => {
    const events = Array.from({ length: 10 }, (_, i) => event(`line ${i}`));
    const messages = logMessagesFor({ kind: 'memory', maxMessageBytes: 1_000 }, 'org-1', events, 2_500);
    expect(messages).toHaveLength(3);
    expect(messages.every((m) => m.data.byteLength === 0 && (m.size ?? 0) <= 1_000)).toBe(true);
    expect(messages.flatMap((m) => readLogMessage(m).events)).toEqual(events);
    expect(readLogMessage(messages[0]!).events[0]).toBe(events[0]);
    const onJetStream = logMessagesFor({ kind: 'jetstream', maxMessageBytes: 1_000_000 }, 'org-1', events, 2_500);
    expect(onJetStream).toHaveLength(1);
    expect(readLogMessage(onJetStream[0]!).events).toEqual(events);
  });

  it('refuses a single event larger than the bus allows, naming the fix', () => {
    expect(() => encodeLogMessages('o', [event('y'.repeat(2_000))], 1_000)).toThrow(/max_payload/);
  });
});
