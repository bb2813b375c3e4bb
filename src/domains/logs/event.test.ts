import { describe, expect, it } from 'vitest';
import { archivedLogEvent, logEvent } from '../../contracts/logs.js';
import { hotRowToStored, toLogEventAnswer, type HotRow, type StoredLogEvent } from './event.js';

const stored: StoredLogEvent = {
  timestamp: Date.UTC(2026, 2, 1, 12, 0, 0, 250),
  receivedAt: Date.UTC(2026, 2, 1, 12, 0, 1),
  service: 'web',
  host: 'h1',
  source: 'nginx',
  level: 'error',
  message: 'GET /api/x 503',
  method: 'GET',
  path: '/api/x',
  section: '/api',
  status: 503,
  bytes: 12,
  durationMs: 1.5,
  remoteAddr: '10.0.0.1',
  userAgent: 'curl/8',
  attributes: { trace: 'abc', n: [1, 2] },
  id: '42',
  tooLate: true,
};

describe('the log event from store to answer', () => {
  it('answers a stored event in the contract shape, every field carried, instants as ISO', () => {
    const answer = toLogEventAnswer(stored);
    expect(logEvent.parse(answer)).toEqual(answer);
    expect(answer).toMatchObject({ id: '42', timestamp: '2026-03-01T12:00:00.250Z', received_at: '2026-03-01T12:00:01.000Z', duration_ms: 1.5, too_late: true });
  });

  it('answers an event archived from elsewhere with a null id, which only the archive contract allows', () => {
    const answer = toLogEventAnswer({ ...stored, id: null });
    expect(archivedLogEvent.parse(answer).id).toBeNull();
    expect(logEvent.safeParse(answer).success).toBe(false);
  });

  it('reads a log_events row back into the same event', () => {
    const row: HotRow = {
      id: 42n,
      ts: new Date(stored.timestamp),
      received_at: new Date(stored.receivedAt),
      service: 'web',
      host: 'h1',
      source: 'nginx',
      level: 'error',
      message: 'GET /api/x 503',
      method: 'GET',
      path: '/api/x',
      section: '/api',
      status: 503,
      bytes: '12',
      duration_ms: 1.5,
      remote_addr: '10.0.0.1',
      user_agent: 'curl/8',
      attributes: '{"trace":"abc","n":[1,2]}',
      too_late: true,
    };
    expect(hotRowToStored(row)).toEqual(stored);
  });
});
