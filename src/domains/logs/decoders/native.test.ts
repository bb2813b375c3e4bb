import { httpStatusOf } from '../../../platform/http/errors.js';
import { describe, expect, it } from 'vitest';
import { IngestLimitError, MAX_EVENTS_PER_REQUEST, MAX_EVENT_BYTES } from './limits.js';
import { accessLogMessageParser, decodeAccessLog } from './access-log.js';
import { decodeNative, decodeTextLines } from './native.js';
import { NOW, T0, fixture } from './test-support.js';

describe('native JSON / NDJSON decoder', () => {
  it('reads a Vector http sink batch (JSON array, parse_nginx_log fields)', () => {
    const { events, rejected } = decodeNative(fixture('vector-http-array.json'), { contentType: 'application/json', receivedAt: NOW });
    expect(rejected).toEqual([]);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      timestamp: T0 + 123,
      receivedAt: NOW,
      host: 'web-1',
      source: 'file',
      method: 'GET',
      path: '/api/user',
      section: '/api',
      status: 200,
      bytes: 612,
      remoteAddr: '172.17.0.1',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
    });
    expect(events[0]!.message).toMatch(/^172\.17\.0\.1 - - \[01\/May/);
    expect(events[0]!.attributes).toMatchObject({ file: '/var/log/nginx/access.log', protocol: 'HTTP/1.1', referer: '-', 'url.query': 'id=7' });
    expect(events[1]).toMatchObject({ method: 'POST', section: '/report', status: 500, bytes: 0, timestamp: T0 + 1000 });
  });

  it("reads Fluent Bit's http output, format json (date as float seconds, parser fields as strings)", () => {
    const { events, rejected } = decodeNative(fixture('fluentbit-http-json.json'), { contentType: 'application/json', receivedAt: NOW });
    expect(rejected).toEqual([]);
    expect(events.map((e) => [e.timestamp, e.method, e.section, e.status, e.bytes, e.remoteAddr, e.userAgent])).toEqual([
      [T0 + 123, 'GET', '/api', 200, 1234, '10.0.0.4', 'curl/8.5.0'],
      [T0 + 1500, 'GET', '/', 304, null, '10.0.0.5', 'Mozilla/5.0'],
    ]);
  });

  it("reads Fluent Bit's json_lines, with JSON inside `log` and raw CLF lines through the line parser hook", () => {
    const { events, rejected } = decodeNative(fixture('fluentbit-http-json_lines.ndjson'), {
      contentType: 'application/x-ndjson',
      receivedAt: NOW,
      parseMessage: accessLogMessageParser(),
    });
    expect(rejected).toEqual([]);
    expect(events[0]).toMatchObject({ timestamp: T0 + 123, method: 'GET', path: '/api/user', status: 200, bytes: 1234, remoteAddr: '10.0.0.4' });
    expect(events[0]!.attributes).toMatchObject({ stream: 'stdout' });
    expect(events[1]).toMatchObject({ level: 'warn', message: 'slow request', method: 'GET', section: '/api', status: 200, durationMs: 1834.5 });
  });

  it('keeps the good lines of an NDJSON body and names the bad ones by line number', () => {
    const { events, rejected } = decodeNative(fixture('curl-mixed.ndjson'), { contentType: 'application/x-ndjson', receivedAt: NOW });
    expect(events.map((e) => e.message)).toEqual(['user logged in', 'GET /api/user', 'pino error']);
    expect(events[0]).toMatchObject({ timestamp: T0, level: 'info', service: 'auth', host: 'auth-1' });
    expect(events[1]).toMatchObject({
      timestamp: Date.UTC(2024, 4, 1, 10, 0, 1),
      method: 'GET',
      path: '/api/user/42',
      section: '/api',
      status: 404,
      bytes: 12,
      durationMs: 3.5,
      remoteAddr: '192.0.2.1',
      userAgent: 'curl/8.5.0',
    });
    expect(events[2]).toMatchObject({ level: 'error', timestamp: T0 + 2000, attributes: { pid: 42 } });
    expect(rejected.map((r) => r.line)).toEqual([3, 5, 6]);
    expect(rejected[0]!.reason).toMatch(/^invalid JSON/);
    expect(rejected[1]!.reason).toMatch(/^timestamp: cannot read "not a time"/);
    expect(rejected[2]!.reason).toBe('expected a JSON object, got an array');
  });

  it('detects NDJSON without its content type, and accepts one object', () => {
    const ndjson = '{"msg":"a"}\n{"msg":"b"}\r\n';
    expect(decodeNative(ndjson, { contentType: 'application/json' }).events.map((e) => e.message)).toEqual(['a', 'b']);
    expect(decodeNative('{\n  "msg": "pretty"\n}\n').events.map((e) => e.message)).toEqual(['pretty']);
  });

  it('names array indexes of bad events and keeps the good ones', () => {
    const { events, rejected } = decodeNative('[{"msg":"ok"}, 42, {"msg":"x","timestamp":"later"}, {"msg":"ok2"}]', { receivedAt: NOW });
    expect(events.map((e) => e.message)).toEqual(['ok', 'ok2']);
    expect(rejected).toEqual([
      { index: 1, reason: 'expected a JSON object, got a number' },
      { index: 2, reason: expect.stringMatching(/^timestamp:/) as unknown as string },
    ]);
  });

  it('rejects a body that is not JSON at all as a whole, naming no event', () => {
    expect(decodeNative('')).toEqual({ events: [], rejected: [{ reason: expect.stringMatching(/empty/) as unknown as string }] });
    expect(decodeNative('[1, 2').rejected[0]!.reason).toMatch(/not a valid JSON array/);
    expect(decodeNative('hello').rejected[0]!.reason).toMatch(/must be a JSON array/);
  });

  it('rejects an event over 1 MB and keeps its neighbours', () => {
    const big = 'x'.repeat(MAX_EVENT_BYTES);
    const { events, rejected } = decodeNative(JSON.stringify([{ msg: 'small' }, { msg: big }, { msg: 'small2' }]));
    expect(events.map((e) => e.message)).toEqual(['small', 'small2']);
    expect(rejected).toEqual([{ index: 1, reason: expect.stringMatching(/^event is 1,048,\d+ bytes, over the limit of 1,048,576/) as unknown as string }]);
  });

  it('refuses more than 10,000 events per request with a 413 error', () => {
    const many = JSON.stringify(Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, () => ({ msg: 'a' })));
    expect(() => decodeNative(many)).toThrow(IngestLimitError);
    const lines = Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, () => '{"msg":"a"}').join('\n');
    try {
      decodeNative(lines, { contentType: 'application/x-ndjson' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IngestLimitError);
      expect(httpStatusOf(err as IngestLimitError)).toBe(413);
      expect((err as IngestLimitError).limit).toBe('events');
    }
    expect(decodeNative(JSON.stringify(Array.from({ length: MAX_EVENTS_PER_REQUEST }, () => ({ msg: 'a' })))).events).toHaveLength(MAX_EVENTS_PER_REQUEST);
  });
});

describe('plain-text access logs (format=clf|combined|csv)', () => {
  it('reads the CSV form with its header', () => {
    // Rows as in test/data/sample_csv.txt.
    const body = [
      '"remotehost","rfc931","authuser","date","request","status","bytes"',
      '"10.0.0.2","-","apache",1549573860,"GET /api/user HTTP/1.0",200,1234',
      '"10.0.0.4","-","apache",1549573860,"GET /api/user HTTP/1.0",200,1234',
      '"10.0.0.4","-","apache",1549573860,"GET /api/user HTTP/1.0",200,1234',
      '"10.0.0.2","-","apache",1549573860,"GET /api/help HTTP/1.0",200,1234',
      '"10.0.0.5","-","apache",1549573859,"GET /api/help HTTP/1.0",200,1234',
    ].join('\n');
    const { events, rejected } = decodeAccessLog(body, 'csv', { receivedAt: NOW, defaults: { service: 'web', source: 'csv' } });
    expect(rejected).toEqual([]);
    expect(events).toHaveLength(5);
    expect(events[0]).toMatchObject({
      timestamp: 1549573860_000,
      remoteAddr: '10.0.0.2',
      method: 'GET',
      path: '/api/user',
      section: '/api',
      status: 200,
      bytes: 1234,
      service: 'web',
      source: 'csv',
      attributes: { user: 'apache', protocol: 'HTTP/1.0' },
    });
  });

  it('reads Combined Log Format and names bad lines', () => {
    const body = [
      '10.0.0.1 - frank [01/May/2024:14:00:00 +0200] "GET /api/user?id=1 HTTP/1.1" 200 1234 "https://ref.example/" "curl/8.5.0"',
      'garbage',
      '',
      '10.0.0.2 - - [01/May/2024:12:00:01 +0000] "POST /report HTTP/1.0" 503 -',
    ].join('\n');
    const { events, rejected } = decodeAccessLog(body, 'combined', { receivedAt: NOW });
    expect(events.map((e) => [e.timestamp, e.method, e.path, e.section, e.status, e.bytes, e.userAgent])).toEqual([
      [T0, 'GET', '/api/user', '/api', 200, 1234, 'curl/8.5.0'],
      [T0 + 1000, 'POST', '/report', '/report', 503, 0, null],
    ]);
    expect(events[0]!.attributes).toEqual({ user: 'frank', protocol: 'HTTP/1.1', referer: 'https://ref.example/', 'url.query': 'id=1' });
    expect(events[0]!.message).toMatch(/^10\.0\.0\.1 - frank/);
    expect(rejected).toEqual([{ line: 2, reason: 'not a Common/Combined Log Format line' }]);
  });

  it('turns a throwing line parser into a rejection of that line only', () => {
    const { events, rejected } = decodeTextLines('a\nb\n', (line) => {
      if (line === 'a') throw new Error('boom');
      return { ok: true, fields: { message: line } };
    });
    expect(events.map((e) => e.message)).toEqual(['b']);
    expect(rejected).toEqual([{ line: 1, reason: 'cannot parse line: boom' }]);
  });
});
