import type { LogEvent } from '../../src/domains/logs/index.js';

/** A request event of two seconds ago (counted by the statistics), for tests that hand events to the bus or the store directly. */
export function requestEvent(message: string, over: Partial<LogEvent> = {}): LogEvent {
  const now = Date.now() - 2000;
  return {
    timestamp: now,
    receivedAt: now,
    service: 'svc',
    host: 'h',
    source: null,
    level: 'info',
    message,
    method: 'GET',
    path: '/ok',
    section: '/ok',
    status: 200,
    bytes: 10,
    durationMs: 1,
    remoteAddr: '10.0.0.1',
    userAgent: null,
    attributes: {},
    ...over,
  };
}

/** Stream timing for tests that run a processor directly: 5 s out of order, 5 min lateness, sources idle after a minute. */
export const STREAM_TIMING = { outOfOrderMs: 5000, latenessMs: 300_000, idleMs: 60_000 };
