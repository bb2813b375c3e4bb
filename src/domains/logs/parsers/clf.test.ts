import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClfAccessLogParser, parseClfTime } from './clf.js';

const CLF = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326';
const COMBINED = '192.168.1.20 - - [07/Feb/2019:21:11:00 +0000] "POST /api/user?id=3 HTTP/1.1" 503 - "https://example.com/a" "Mozilla/5.0 (X11; Linux x86_64) \\"quoted\\""';

describe('parseClfTime', () => {
  it('converts the offset to UTC', () => {
    expect(parseClfTime('10/Oct/2000:13:55:36 -0700')).toBe(Date.UTC(2000, 9, 10, 20, 55, 36) / 1000);
    expect(parseClfTime('07/Feb/2019:21:11:00 +0000')).toBe(1549573860);
    expect(parseClfTime('07/Feb/2019:22:41:00 +0130')).toBe(1549573860);
  });

  it.each(['31/Feb/2019:00:00:00 +0000', '10/Foo/2000:13:55:36 -0700', '10/Oct/2000:25:55:36 -0700', '10/Oct/2000 13:55:36', '10/Oct/0099:13:55:36 +0000'])('rejects %s', (t) => {
    expect(typeof parseClfTime(t)).toBe('string');
  });
});

describe('ClfAccessLogParser', () => {
  const parser = new ClfAccessLogParser();

  it('parses Common Log Format', () => {
    expect(parser.parse(CLF)).toEqual({
      ok: true,
      record: { time: 971211336, host: '127.0.0.1', user: 'frank', method: 'GET', path: '/apache_pb.gif', protocol: 'HTTP/1.0', section: '/apache_pb.gif', status: 200, bytes: 2326 },
    });
  });

  it('parses Combined Log Format with escaped quotes and "-" bytes, and ignores appended fields', () => {
    expect(parser.parse(COMBINED)).toMatchObject({
      ok: true,
      record: { time: 1549573860, section: '/api', status: 503, bytes: 0, referer: 'https://example.com/a', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) \\"quoted\\"' },
    });
    expect(parser.parse(`${CLF} 0.012 upstream=1`)).toMatchObject({ ok: true, record: { bytes: 2326 } });
  });

  it.each([
    ['', /not a Common\/Combined/],
    ['127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200', /not a Common\/Combined/],
    ['127.0.0.1 - - [10/Oct/2000:13:55:36] "GET / HTTP/1.0" 200 1', /not dd\/Mon\/yyyy/],
    ['127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 999 1', /outside 100–599/],
    ['127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "\\x16\\x03\\x01" 400 0', /request is not/],
    ['127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1x', /not a Common\/Combined/],
  ])('rejects %j with a reason', (line, reason) => {
    const r = parser.parse(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('never throws on random text, bytes or mutated lines, and stays fast on them', () => {
    const check = (line: string) => {
      const r = parser.parse(line);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    };
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), check), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => check(Buffer.from(b).toString('utf8'))), { numRuns: 2000 });
    const mutated = fc.tuple(fc.constantFrom(CLF, COMBINED), fc.nat(), fc.nat(), fc.string({ maxLength: 5 })).map(([base, a, b, junk]) => {
      const [x, y] = [a % (base.length + 1), b % (base.length + 1)].sort((p, q) => p - q) as [number, number];
      return base.slice(0, x) + junk + base.slice(y);
    });
    fc.assert(fc.property(mutated, check), { numRuns: 3000 });
    // Regex backtracking: long adversarial lines must still be rejected quickly.
    const started = performance.now();
    check(`1 - - [10/Oct/2000:13:55:36 -0700] "${'\\"'.repeat(50_000)}`);
    check(`${'a '.repeat(50_000)}`);
    check(`1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "${'x'.repeat(100_000)}`);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
