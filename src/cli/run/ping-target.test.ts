import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCheckRef, pingUrl, serverUrlSchema } from './ping-target.js';

const UUID = '5b7f3b8c-3c3e-4d53-9f0b-1c8e0e6c2a41';
const RID = '0b1c1d5e-2f6a-4b7c-8d9e-0f1a2b3c4d5e';

describe('parseCheckRef', () => {
  it('accepts a UUID (normalised to lower case) and <ping-key>/<slug>', () => {
    expect(parseCheckRef(UUID.toUpperCase())).toEqual({ kind: 'uuid', uuid: UUID });
    expect(parseCheckRef('fqOOd6-F4MMNA_K6NQZ1bQ/nightly-etl')).toEqual({ kind: 'slug', pingKey: 'fqOOd6-F4MMNA_K6NQZ1bQ', slug: 'nightly-etl' });
  });

  it.each(['', 'bad', `${UUID}x`, 'key/', '/slug', 'a/b/c', 'key/sl ug', 'key/slug?x=1', 'ke y/slug', '../etc'])('rejects %j with a message', (value) => {
    expect(() => parseCheckRef(value)).toThrow(/neither a check UUID/);
  });

  it('every accepted value yields a URL whose path stays under /ping/', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        let ref;
        try {
          ref = parseCheckRef(value);
        } catch {
          return;
        }
        const url = pingUrl(new URL('http://h:1'), ref, { kind: 'start' }, RID);
        expect(url.pathname.startsWith('/ping/')).toBe(true);
        expect(url.pathname.split('/')).toHaveLength(ref.kind === 'uuid' ? 4 : 5);
      }),
    );
  });
});

describe('pingUrl', () => {
  const server = new URL('http://127.0.0.1:8080');
  it('builds the Healthchecks URL forms with the run id', () => {
    expect(pingUrl(server, { kind: 'uuid', uuid: UUID }, { kind: 'start' }, RID).href).toBe(`http://127.0.0.1:8080/ping/${UUID}/start?rid=${RID}`);
    expect(pingUrl(server, { kind: 'uuid', uuid: UUID }, { kind: 'exit', status: 3 }, RID).href).toBe(`http://127.0.0.1:8080/ping/${UUID}/3?rid=${RID}`);
    expect(pingUrl(server, { kind: 'slug', pingKey: 'k', slug: 's' }, { kind: 'exit', status: 0 }, RID, true).href).toBe(
      `http://127.0.0.1:8080/ping/k/s/0?rid=${RID}&create=1`,
    );
  });
  it('keeps a path prefix of the server URL, with or without a trailing slash', () => {
    for (const base of ['https://example.com/vigil', 'https://example.com/vigil/']) {
      expect(pingUrl(new URL(base), { kind: 'uuid', uuid: UUID }, { kind: 'start' }, RID).href).toBe(`https://example.com/vigil/ping/${UUID}/start?rid=${RID}`);
    }
  });
  it('puts create=1 only on slug URLs', () => {
    expect(pingUrl(server, { kind: 'uuid', uuid: UUID }, { kind: 'start' }, RID, true).searchParams.has('create')).toBe(false);
  });
});

describe('serverUrlSchema', () => {
  it('accepts http and https URLs only', () => {
    expect(serverUrlSchema.safeParse('http://127.0.0.1:8080').success).toBe(true);
    expect(serverUrlSchema.safeParse('https://vigil.example.com/base').success).toBe(true);
    for (const bad of ['ftp://x', 'not a url', '127.0.0.1:8080', 'http://x/?a=1']) expect(serverUrlSchema.safeParse(bad).success).toBe(false);
  });
});
