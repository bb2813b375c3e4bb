import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../platform/errors.js';
import { addressRange, assertPublicLiteral, assertPublicTarget, guardedLookup, isPublicAddress, parseTargetUrl, PrivateTargetError } from './ssrf.js';

const refusedField = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
};

describe('SSRF guard', () => {
  it('accepts only global unicast addresses', () => {
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(a), a).toBe(true);
    const refused: [string, string][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.5.4', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'linkLocal'],
      ['fe80::1', 'linkLocal'],
      ['fd12:3456::1', 'uniqueLocal'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['224.0.0.1', 'multicast'],
    ];
    for (const [address, range] of refused) {
      expect(addressRange(address), address).toBe(range);
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it('accepts only absolute http(s) URLs', () => {
    expect(parseTargetUrl('https://hooks.example.com/x?y=1').hostname).toBe('hooks.example.com');
    for (const bad of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://x', '/relative', 'not a url']) {
      expect(() => parseTargetUrl(bad), bad).toThrow(/^url: /);
    }
  });

  it('refuses literals and names that resolve to private addresses, naming the field', async () => {
    // The WHATWG parser normalises odd IPv4 spellings, so they cannot sneak past the check.
    for (const raw of ['http://127.1/', 'http://0x7f000001/', 'http://2130706433/', 'http://[::1]:8080/', 'http://[::ffff:7f00:1]/']) {
      const error = await refusedField(assertPublicTarget(parseTargetUrl(raw)));
      expect(error.details, raw).toEqual([expect.objectContaining({ field: 'url' })]);
      expect(error.message).toContain('loopback');
    }
    // A name's answer is not told (it would map the internal DNS): neither address nor range.
    const byName = await refusedField(assertPublicTarget(new URL('http://localhost/')));
    expect(byName.message).toMatch(/^url: localhost resolves to an address that is not public: refused \(set VIGIL_ALLOW_PRIVATE_WEBHOOKS=true/);
    expect(byName.message).not.toMatch(/127\.0\.0\.1|::1|loopback/);
    // Every resolved address must be public: one private answer among public ones is enough to refuse.
    const mixed = await refusedField(
      assertPublicTarget(new URL('http://rebind.example/'), async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ]),
    );
    expect(mixed.message).toContain('rebind.example');
    expect(mixed.message).not.toMatch(/10\.0\.0\.5|a private address/);
    await expect(assertPublicTarget(new URL('http://public.example/'), async () => [{ address: '93.184.216.34', family: 4 }])).resolves.toBeUndefined();
    const unresolvable = await refusedField(assertPublicTarget(new URL('http://nowhere.invalid/')));
    expect(unresolvable.message).toContain('does not resolve');
  });

  it('refuses private literals at delivery time', () => {
    expect(() => assertPublicLiteral(new URL('http://10.0.0.1/'))).toThrow(PrivateTargetError);
    expect(() => assertPublicLiteral(new URL('http://[fe80::1]/'))).toThrow(PrivateTargetError);
    expect(() => assertPublicLiteral(new URL('http://93.184.216.34/'))).not.toThrow();
    expect(() => assertPublicLiteral(new URL('http://example.com/'))).not.toThrow(); // names are checked by guardedLookup
  });

  it('guardedLookup refuses names resolving to private addresses, in both lookup forms', async () => {
    const lookup = promisify(guardedLookup) as (host: string, options: object) => Promise<unknown>;
    await expect(lookup('localhost', {})).rejects.toBeInstanceOf(PrivateTargetError);
    await expect(lookup('localhost', { all: true })).rejects.toThrow(/^localhost resolves to an address that is not public/);
    const error = (await lookup('localhost', {}).catch((e: unknown) => e)) as PrivateTargetError;
    expect(error.message).not.toMatch(/127\.0\.0\.1|::1|loopback/);
    expect(error.address).toMatch(/127\.0\.0\.1|::1/); // kept for the server's log
  });
});
