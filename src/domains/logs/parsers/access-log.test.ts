import { describe, expect, it } from 'vitest';
import { AccessLogParser } from './access-log.js';

const HEADER = '"remotehost","rfc931","authuser","date","request","status","bytes"';
const ROW = '"10.0.0.2","-","apache",1549573860,"GET /api/user HTTP/1.0",200,1234';
const CLF = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326';

describe('AccessLogParser', () => {
  it('detects the CSV form from its header, and skips blank lines and repeated headers', () => {
    const p = new AccessLogParser();
    expect(p.parse(HEADER)).toBeNull();
    expect(p.format).toBe('csv');
    expect(p.parse(ROW)).toMatchObject({ ok: true, record: { section: '/api' } });
    expect(p.parse('')).toBeNull();
    expect(p.parse(HEADER)).toBeNull();
    expect(p.parse(CLF)).toMatchObject({ ok: false });
    expect([p.headers, p.blanks]).toEqual([2, 1]);
  });

  it('detects CSV without a header from its first row', () => {
    const p = new AccessLogParser();
    expect(p.parse(ROW)).toMatchObject({ ok: true });
    expect(p.format).toBe('csv');
  });

  it('detects Common/Combined Log Format', () => {
    const p = new AccessLogParser();
    expect(p.parse('   ')).toBeNull();
    expect(p.parse(CLF)).toMatchObject({ ok: true, record: { status: 200 } });
    expect(p.format).toBe('clf');
    expect(p.parse(ROW)).toMatchObject({ ok: false, reason: expect.stringMatching(/not a Common/) });
  });

  it('rejects lines while no format is recognised, saying what it expected', () => {
    const p = new AccessLogParser();
    const r = p.parse('hello world');
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/format not recognised yet/) });
    expect(p.format).toBeNull();
    expect(p.parse(CLF)).toMatchObject({ ok: true });
  });

  it('takes a forced format: CSV with or without header, CLF', () => {
    const csv = new AccessLogParser('csv');
    expect(csv.parse(HEADER)).toBeNull();
    expect(csv.parse(ROW)).toMatchObject({ ok: true });
    expect(new AccessLogParser('csv').parse(ROW)).toMatchObject({ ok: true });
    const clf = new AccessLogParser('clf');
    expect(clf.parse(ROW)).toMatchObject({ ok: false });
    expect(clf.parse(CLF)).toMatchObject({ ok: true });
  });
});
