import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRequestLine, sectionOf } from './request.js';

describe('sectionOf', () => {
  it.each([
    ['/api/user', '/api'],
    ['/report', '/report'],
    ['/', '/'],
    ['/api/user/42?x=1', '/api'],
    ['/report?from=1/2', '/report'],
    ['/a#frag/x', '/a'],
    ['//double', '/'],
    ['?q', '/'],
    ['*', '*'],
    ['example.com:443', 'example.com:443'],
  ])('%s → %s', (path, section) => expect(sectionOf(path)).toBe(section));

  it('is a prefix of the path that holds at most one slash, for any path', () => {
    fc.assert(
      fc.property(fc.string(), (p) => {
        const path = `/${p}`;
        const s = sectionOf(path);
        expect(path.startsWith(s) || s === '/').toBe(true);
        expect(s.split('/').length).toBeLessThanOrEqual(2);
      }),
    );
  });
});

describe('parseRequestLine', () => {
  it('splits METHOD TARGET PROTOCOL', () => {
    expect(parseRequestLine('GET /api/user HTTP/1.0')).toEqual({ method: 'GET', path: '/api/user', protocol: 'HTTP/1.0' });
    expect(parseRequestLine('PROPFIND /dav HTTP/1.1')).toEqual({ method: 'PROPFIND', path: '/dav', protocol: 'HTTP/1.1' });
    expect(parseRequestLine('GET /old')).toEqual({ method: 'GET', path: '/old', protocol: '' });
  });

  it('reduces a proxy-form absolute URL to its path', () => {
    expect(parseRequestLine('GET http://example.com/api/x?y HTTP/1.1')).toMatchObject({ path: '/api/x?y' });
    expect(parseRequestLine('GET https://example.com HTTP/1.1')).toMatchObject({ path: '/' });
  });

  it.each(['', '-', 'GET', 'GET ', ' /x HTTP/1.0', 'GET /x HTTP/1.0 extra', 'G(T /x HTTP/1.0', 'GET /x '])('rejects %j with a reason', (line) => {
    expect(typeof parseRequestLine(line)).toBe('string');
  });
});
