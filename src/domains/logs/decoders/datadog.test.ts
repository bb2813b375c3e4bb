import { describe, expect, it } from 'vitest';
import { accessLogMessageParser } from './access-log.js';
import { decodeDatadog, parseDdtags } from './datadog.js';
import { IngestLimitError, MAX_EVENTS_PER_REQUEST } from './limits.js';
import { NOW, T0, fixture } from './test-support.js';

describe('Datadog-compatible decoder (/api/v2/logs)', () => {
  it("reads Vector's datadog_logs sink payload: status is the level, HTTP from standard attributes", () => {
    const { events, rejected } = decodeDatadog(fixture('vector-datadog-logs.json'), { contentType: 'application/json', receivedAt: NOW });
    expect(rejected).toEqual([]);
    expect(events[0]).toMatchObject({
      timestamp: T0 + 123,
      service: 'storefront',
      host: 'web-1',
      source: 'nginx',
      level: 'info',
      method: 'GET',
      path: '/api/user',
      section: '/api',
      status: 200,
      bytes: 612,
      durationMs: 12.5, // Datadog durations are nanoseconds
      remoteAddr: '172.17.0.1',
      userAgent: 'curl/8.5.0',
    });
    expect(events[0]!.attributes).toMatchObject({
      tags: { env: 'prod', team: 'web', version: '1.4.2' },
      http: { url: 'https://shop.example.com/api/user?id=3' },
      source_type: 'file',
    });
    expect(events[1]).toMatchObject({ level: 'error', host: 'web-2', message: 'upstream timed out', status: null, timestamp: T0 + 1000 });
  });

  it("reads Fluent Bit's datadog output, parsing JSON messages and raw lines through the hook", () => {
    const { events, rejected } = decodeDatadog(fixture('fluentbit-datadog.json'), { receivedAt: NOW, parseMessage: accessLogMessageParser() });
    expect(rejected).toEqual([]);
    expect(events[0]).toMatchObject({ service: 'billing', host: 'node-7', source: 'docker', level: 'error', message: 'payment failed', timestamp: T0 + 123 });
    expect(events[0]!.attributes).toMatchObject({ order_id: 991, stream: 'stderr', container_name: 'billing-7f9c', tags: { container_id: '7f9c', env: 'staging' } });
    // "GET /health 200" is not CLF: the hook finds nothing and the event stays a plain message.
    expect(events[1]).toMatchObject({ message: 'GET /health 200', method: null, level: null });
  });

  it('applies query-string ddtags/service/hostname/ddsource to events that lack them', () => {
    const { events } = decodeDatadog('[{"message":"a"},{"message":"b","service":"own","ddtags":"env:dev"}]', {
      query: { ddtags: 'env:prod,region:eu', service: 'q-svc', hostname: 'q-host', ddsource: 'q-src' },
    });
    expect(events.map((e) => [e.service, e.host, e.source])).toEqual([
      ['q-svc', 'q-host', 'q-src'],
      ['own', 'q-host', 'q-src'],
    ]);
    expect(events[1]!.attributes.tags).toEqual({ env: ['dev', 'prod'], region: 'eu' });
  });

  it('accepts a single object and text/plain lines', () => {
    expect(decodeDatadog('{"message":"one","status":"warn"}').events.map((e) => [e.message, e.level])).toEqual([['one', 'warn']]);
    const text = decodeDatadog('first line\n\nsecond line\n', { contentType: 'text/plain', query: { service: 'svc' } });
    expect(text.events.map((e) => [e.message, e.service])).toEqual([
      ['first line', 'svc'],
      ['second line', 'svc'],
    ]);
  });

  it('keeps good logs of a batch and names the index of bad ones', () => {
    const { events, rejected } = decodeDatadog('[{"message":"ok","timestamp":1714564800000},{"message":"bad","timestamp":"tomorrow"},"str",{"hostname":"h"}]');
    expect(events.map((e) => e.message)).toEqual(['ok']);
    expect(rejected.map((r) => r.index)).toEqual([1, 2, 3]);
    expect(rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^timestamp: cannot read "tomorrow"/),
      'expected a JSON object, got a string',
      expect.stringMatching(/neither a message nor HTTP/),
    ]);
  });

  it('rejects an unreadable body whole, and refuses too many logs with 413', () => {
    expect(decodeDatadog('[{').rejected).toEqual([{ reason: expect.stringMatching(/^body is not valid JSON/) as unknown as string }]);
    expect(() => decodeDatadog(JSON.stringify(Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, () => ({ message: 'm' }))))).toThrow(IngestLimitError);
  });

  it('parses ddtags', () => {
    expect(parseDdtags('env:prod, team:web ,beta,,url:http://x:1,env:dev,__proto__:x')).toEqual({ env: ['prod', 'dev'], team: 'web', beta: '', url: 'http://x:1' });
  });
});
