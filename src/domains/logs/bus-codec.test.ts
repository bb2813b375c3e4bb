import { describe, expect, it } from 'vitest';
import { decodeLogMessage, encodeLogMessages } from './bus-codec.js';
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
    const back = messages.flatMap((m) => decodeLogMessage(m).events);
    expect(back).toEqual(events);
    expect(decodeLogMessage(messages[0]!).orgId).toBe('org-1');
  });

  it('replaces NUL characters (which PostgreSQL refuses) but leaves an escaped backslash before "u0000" alone', () => {
    const [m] = encodeLogMessages('o', [event('a\u0000b', { 'k\u0000': 'v\u0000', literal: '\\u0000' })], 10_000);
    const [back] = decodeLogMessage(m!).events;
    expect(back!.message).toBe('a\ufffdb');
    expect(back!.attributes).toEqual({ 'k\ufffd': 'v\ufffd', literal: '\\u0000' });
  });

  it('refuses a single event larger than the bus allows, naming the fix', () => {
    expect(() => encodeLogMessages('o', [event('y'.repeat(2_000))], 1_000)).toThrow(/max_payload/);
  });
});
