import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvAccessLogParser } from './csv.js';

const ROW = '"10.0.0.2","-","apache",1549573860,"GET /api/user HTTP/1.0",200,1234';

describe('CsvAccessLogParser', () => {
  const parser = new CsvAccessLogParser();

  it('parses the sample row shape', () => {
    expect(parser.parse(ROW)).toEqual({
      ok: true,
      record: { time: 1549573860, host: '10.0.0.2', user: 'apache', method: 'GET', path: '/api/user', protocol: 'HTTP/1.0', section: '/api', status: 200, bytes: 1234 },
    });
  });

  it('reads other CSV spellings of a row through the CSV parser: quoted numbers, escaped quotes, spaces, "-" bytes', () => {
    expect(parser.parse('"10.0.0.2","-","apache","1549573860","GET /api/user HTTP/1.0","200","1234"')).toEqual(parser.parse(ROW));
    expect(parser.parse('10.0.0.2,-,apache,1549573860,GET /api/user HTTP/1.0,200,1234')).toEqual(parser.parse(ROW));
    expect(parser.parse('"h","-","u",1549573860,"GET /a""b HTTP/1.0",404,-')).toMatchObject({ ok: true, record: { path: '/a"b', status: 404, bytes: 0 } });
    expect(parser.parse('"h","-","u",1549573860.25,"POST /x/y HTTP/1.1",500,7')).toMatchObject({ ok: true, record: { time: 1549573860.25, section: '/x' } });
  });

  it('follows the column order of a header', () => {
    const p = new CsvAccessLogParser(['date', 'status', 'bytes', 'request', 'remotehost']);
    expect(p.parse('1549573860,503,9,"GET /r/s HTTP/1.0",1.2.3.4')).toMatchObject({ ok: true, record: { host: '1.2.3.4', status: 503, section: '/r', user: '-' } });
    expect(() => new CsvAccessLogParser(['date', 'status'])).toThrow(/lacks column\(s\) remotehost, request, bytes/);
  });

  it('recognises headers', () => {
    expect(CsvAccessLogParser.headerOf('"remotehost","rfc931","authuser","date","request","status","bytes"')).toHaveLength(7);
    expect(CsvAccessLogParser.headerOf('remotehost,date,request,status,bytes')).toHaveLength(5);
    expect(CsvAccessLogParser.headerOf(ROW)).toBeNull();
    expect(CsvAccessLogParser.headerOf('"remotehost","date"')).toBeNull();
    expect(CsvAccessLogParser.headerOf('"remotehost')).toBeNull();
  });

  it.each([
    ['"h","-","u",1549573860,"GET /a HTTP/1.0",200', /expected 7 CSV fields, found 6/],
    ['"h","-","u",yesterday,"GET /a HTTP/1.0",200,1', /date "yesterday" is not unix seconds/],
    ['"h","-","u",-5,"GET /a HTTP/1.0",200,1', /is not unix seconds/],
    ['"h","-","u",1549573860,"GET /a HTTP/1.0",20,1', /status "20" is not a 3-digit/],
    ['"h","-","u",1549573860,"GET /a HTTP/1.0",999,1', /status 999 is outside 100–599/],
    ['"h","-","u",1549573860,"GET /a HTTP/1.0",200,1.5', /bytes "1.5" is not a byte count/],
    ['"h","-","u",1549573860,"garbage",200,1', /request is not "METHOD PATH \[PROTOCOL\]"/],
    ['"h","-","u,1549573860,"GET /a HTTP/1.0",200,1', /invalid CSV/],
    ['"h","-","u",1549573860,"GET /a HTTP/1.0",200,1,"x"', /found 8/],
  ])('rejects %s with a reason', (line, reason) => {
    const r = parser.parse(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('fast path and CSV parser agree: quoting every field of a well-formed row changes nothing', () => {
    const field = fc.stringMatching(/^[a-z0-9.\-:/]{0,12}$/);
    fc.assert(
      fc.property(field, field, fc.integer({ min: 0, max: 4e9 }), fc.constantFrom('GET', 'POST', 'PUT'), fc.stringMatching(/^(\/[a-z0-9]{0,5}){1,3}$/), fc.integer({ min: 100, max: 599 }), fc.nat(), (host, user, time, method, path, status, bytes) => {
        const fast = `"${host}","-","${user}",${time},"${method} ${path} HTTP/1.1",${status},${bytes}`;
        const slow = `"${host}","-","${user}","${time}","${method} ${path} HTTP/1.1","${status}","${bytes}"`;
        const r = parser.parse(fast);
        expect(r).toEqual(parser.parse(slow));
        expect(r).toMatchObject({ ok: true, record: { host, user, time, method, path, status, bytes } });
      }),
    );
  });

  it('never throws on random text or bytes: a line is a record or a rejection with a reason', () => {
    const check = (line: string) => {
      const r = parser.parse(line);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    };
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => check(Buffer.from(bytes).toString('utf8'))), { numRuns: 2000 });
    // Mutations of a good row: the malformed lines a real file has (cut, doubled quotes, junk).
    const mutated = fc.tuple(fc.nat({ max: ROW.length }), fc.nat({ max: ROW.length }), fc.string({ maxLength: 5 })).map(([a, b, junk]) => ROW.slice(0, Math.min(a, b)) + junk + ROW.slice(Math.max(a, b)));
    fc.assert(fc.property(mutated, check), { numRuns: 3000 });
  });
});
