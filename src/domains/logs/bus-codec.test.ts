import { describe, expect, it } from 'vitest';
import { logMessagesFor, readLogMessage } from './bus-codec.js';
import { encodeCopyRows, selectCopyRows } from './copy-rows.js';
import type { LogEvent } from './event.js';

const event = (message: string, attributes: Record<string, unknown> = {}): LogEvent => ({
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

const jetstream = (maxMessageBytes: number) => ({ kind: 'jetstream' as const, maxMessageBytes });

describe('log messages on the bus', () => {
  it('round-trips events as JSON on JetStream and splits a request into messages that fit, keeping order', () => {
    const events = Array.from({ length: 100 }, (_, i) => event(`line ${i} ${'x'.repeat(200)}`));
    const { messages, tooLarge } = logMessagesFor(jetstream(5_000), 'org-1', events, 30_000);
    expect(tooLarge).toEqual([]);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.data.byteLength).toBeLessThanOrEqual(5_000);
    const back = messages.flatMap((m) => readLogMessage(m).events);
    expect(back).toEqual(events);
    expect(readLogMessage(messages[0]!).orgId).toBe('org-1');
  });

  it('hands the events over as they are on the in-process bus, the body size standing for their bytes in the queue bound', () => {
    const events = Array.from({ length: 10 }, (_, i) => event(`line ${i}`));
    const { messages } = logMessagesFor({ kind: 'memory', maxMessageBytes: 1_000 }, 'org-1', events, 2_500);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.data.byteLength).toBe(0);
    expect(messages[0]!.size).toBe(2_500);
    expect(readLogMessage(messages[0]!).events[0]).toBe(events[0]);
    expect(readLogMessage(messages[0]!).events).toEqual(events);
  });

  it('counts the COPY rows an in-process message holds in the queue bound, as much as their buffer keeps', () => {
    const events = Array.from({ length: 10 }, (_, i) => event(`line ${i}`));
    const rows = encodeCopyRows('org-1', events);
    const { messages } = logMessagesFor({ kind: 'memory', maxMessageBytes: 1_000 }, 'org-1', events.slice(2), 2_500, selectCopyRows(rows, [2, 3, 4, 5, 6, 7, 8, 9]));
    expect(rows.bytes.buffer.byteLength).toBe(rows.bytes.byteLength);
    expect(messages[0]!.size).toBe(2_500 + rows.bytes.byteLength);
    expect(readLogMessage(messages[0]!).rows?.starts).toHaveLength(8);
  });

  it('refuses a single event larger than the bus allows, naming its size, and keeps the others', () => {
    const big = event('y'.repeat(2_000));
    const { messages, tooLarge } = logMessagesFor(jetstream(1_000), 'o', [event('small'), big], 3_000);
    expect(tooLarge).toEqual([{ event: big, index: 1, bytes: expect.any(Number) }]);
    expect(tooLarge[0]!.bytes).toBeGreaterThan(2_000);
    expect(messages.flatMap((m) => readLogMessage(m).events.map((e) => e.message))).toEqual(['small']);
  });

  it('refuses an event JSON cannot encode, with its index, instead of failing the request (it was a 500 at ingest)', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    const events = [event('a'), event('deep', deep), event('b'), event('big', { n: 10n })];
    const { messages, unencodable } = logMessagesFor(jetstream(1_000_000), 'o', events, 100);
    expect(unencodable.map((u) => [u.index, u.reason])).toEqual([
      [1, expect.stringMatching(/^event cannot be encoded as JSON: Maximum call stack/)],
      [3, expect.stringMatching(/^event cannot be encoded as JSON: .*BigInt/)],
    ]);
    expect(messages.flatMap((m) => readLogMessage(m).events.map((e) => e.message))).toEqual(['a', 'b']);
  });
});
