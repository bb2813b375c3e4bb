import { describe, expect, it } from 'vitest';
import { encodeCopyRows, eventCopyLine, selectCopyRows } from './copy-rows.js';
import { runDecodeJob } from './decoders/job.js';
import { accessLogMessageParser } from './decoders/access-log.js';
import { encodeBatch, NOW, poisonCases } from './decoders/test-support.js';
import type { LogEvent } from './event.js';
import { encodeEventCopy, type EventGroupRows } from './store.js';

const ORG = '0b6f3f4e-8f8e-4f57-9d2a-1f1c7c1b2a01';

/** The poison corpus as the native decoder keeps it: NUL, lone surrogates, tabs, backslashes, huge and odd attributes. */
async function poisonEvents(): Promise<LogEvent[]> {
  const batch = encodeBatch('native', poisonCases('copy-rows').map((c) => c.record), NOW);
  const outcome = await runDecodeJob({ protocol: 'native', defaults: {}, contentType: batch.contentType }, batch.body, accessLogMessageParser());
  return outcome.result.events;
}

const text = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

describe('log_events rows encoded ahead of the processor', () => {
  it('are, event by event, the lines the processor would encode (not too late)', async () => {
    const events = await poisonEvents();
    expect(events.length).toBeGreaterThan(5);
    const rows = encodeCopyRows(ORG, events);
    events.forEach((e, i) => {
      expect(text(rows.bytes.subarray(rows.starts[i], rows.ends[i]))).toBe(`${eventCopyLine(ORG, e, false)}\n`);
    });
    expect(rows.ends.at(-1)).toBe(rows.bytes.byteLength);
  });

  it('grow past their first buffer when lines are long and multi-byte', () => {
    const event: LogEvent = {
      timestamp: NOW,
      receivedAt: NOW,
      service: 'svc',
      host: null,
      source: null,
      level: null,
      message: 'é€😀\t\\'.repeat(20_000),
      method: null,
      path: null,
      section: null,
      status: null,
      bytes: null,
      durationMs: null,
      remoteAddr: null,
      userAgent: null,
      attributes: { 'k\n': 'v\u0000' },
    };
    const rows = encodeCopyRows(ORG, [event, event]);
    expect(text(rows.bytes)).toBe(`${eventCopyLine(ORG, event, false)}\n`.repeat(2));
  });

  it('give COPY the same text with or without them, too-late events and a selection included', async () => {
    const all = await poisonEvents();
    const keep = all.map((_, i) => i).filter((i) => i % 3 !== 1);
    const events = keep.map((i) => all[i]!);
    const tooLate = events.map((_, i) => i % 4 === 0 || i === events.length - 1);
    const plain: EventGroupRows[] = [
      { orgId: ORG, events, tooLate },
      { orgId: ORG, events: all },
    ];
    const encoded: EventGroupRows[] = [
      { orgId: ORG, events, tooLate, rows: selectCopyRows(encodeCopyRows(ORG, all), keep) },
      { orgId: ORG, events: all, rows: encodeCopyRows(ORG, all) },
    ];
    const copied = encodeEventCopy(encoded);
    expect(copied).toBe(encodeEventCopy(plain));
    expect(copied.split('\n').filter((line) => line.endsWith('\tt'))).toHaveLength(tooLate.filter(Boolean).length);
  });

  it('are left out when they do not match the events (a processor that set some aside)', async () => {
    const events = await poisonEvents();
    const rows = encodeCopyRows(ORG, events);
    const fewer = events.slice(1);
    expect(encodeEventCopy([{ orgId: ORG, events: fewer, rows }])).toBe(encodeEventCopy([{ orgId: ORG, events: fewer }]));
  });
});
