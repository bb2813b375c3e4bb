import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { lookup as dnsLookupAsync } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { invalidField } from '../../platform/errors.js';

/**
 * SSRF guard for webhook and Slack targets. A user who can create a channel must not be able to
 * make the server POST into its own network (metadata endpoints, admin consoles, the database),
 * so targets on loopback, private, link-local, unique-local, unspecified and other special-purpose
 * ranges are refused unless VIGIL_ALLOW_PRIVATE_WEBHOOKS=true. The check runs when a channel is
 * created and again at delivery time on the address actually connected to (DNS can change).
 */

const ALLOW_HINT = 'set VIGIL_ALLOW_PRIVATE_WEBHOOKS=true to allow private targets';

/**
 * What is said about a refused target. A literal address is the user's own input and is named with
 * its range; for a host name neither the address it resolves to nor its range is told: that would
 * let anyone who may create a channel map the internal network's DNS (which names exist, where
 * they point) through error messages.
 */
function refusal(host: string, address: string, range: string): string {
  return address === host
    ? `${host} is a ${describeRange(range)} address: refused (${ALLOW_HINT})`
    : `${host} resolves to an address that is not public: refused (${ALLOW_HINT})`;
}

/** Raised (at delivery) when the target resolves to a refused address; permanent: retrying cannot help. */
export class PrivateTargetError extends Error {
  readonly code = 'EPRIVATETARGET';
  readonly permanent = true;
  constructor(
    host: string,
    /** For the server's own log only (see `refusal`). */
    readonly address: string,
    readonly range: string,
  ) {
    super(refusal(host, address, range));
    this.name = 'PrivateTargetError';
  }
}

/** ipaddr.js range name of an IP address; IPv4-mapped IPv6 addresses are judged as IPv4. */
export function addressRange(address: string): string {
  return ipaddr.process(address).range();
}

/** Only ordinary global unicast addresses are acceptable targets. */
export const isPublicAddress = (address: string): boolean => addressRange(address) === 'unicast';

function describeRange(range: string): string {
  const names: Record<string, string> = {
    loopback: 'loopback',
    private: 'private',
    linkLocal: 'link-local',
    uniqueLocal: 'unique-local',
    unspecified: 'unspecified',
    carrierGradeNat: 'carrier-grade NAT',
    multicast: 'multicast',
    broadcast: 'broadcast',
  };
  return names[range] ?? `special-purpose (${range})`;
}

/** URL hosts of IPv6 literals come bracketed (`[::1]`); lookups and checks need them bare. */
export const bareHost = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1');

/** Parses a webhook/Slack target: an absolute http or https URL. Throws a 400 naming the `url` field. */
export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidField('url', 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidField('url', `scheme ${url.protocol.replace(/:$/, '')} is not allowed: use http or https`);
  }
  if (!url.hostname) throw invalidField('url', 'has no host');
  return url;
}

/** The first of `addresses` that is not an ordinary public one, with its range; undefined when all are public. */
function firstRefused(addresses: readonly LookupAddress[]): { address: string; range: string } | undefined {
  for (const { address } of addresses) {
    const range = addressRange(address);
    if (range !== 'unicast') return { address, range };
  }
  return undefined;
}

/**
 * Channel creation: refuses a target whose host is, or resolves to, a non-public address
 * (every resolved address must be public, since the connection may use any of them).
 */
export async function assertPublicTarget(
  url: URL,
  resolve: (host: string) => Promise<LookupAddress[]> = (host) => dnsLookupAsync(host, { all: true, verbatim: true }),
): Promise<void> {
  const host = bareHost(url.hostname);
  let addresses: LookupAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      throw invalidField('url', `host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  const refused = firstRefused(addresses);
  if (refused) throw invalidField('url', refusal(host, refused.address, refused.range));
}

/**
 * Delivery time, host given as an IP literal: sockets connect to literals without a DNS lookup,
 * so `guardedLookup` never sees them and they are checked here.
 */
export function assertPublicLiteral(url: URL): void {
  const host = bareHost(url.hostname);
  if (isIP(host) && !isPublicAddress(host)) throw new PrivateTargetError(host, host, addressRange(host));
}

/**
 * A `net.connect` lookup that refuses non-public addresses. Given to undici's Agent
 * (`connect.lookup`), it checks the very addresses the socket then connects to, so a DNS answer
 * that changes between check and use (rebinding) cannot slip through.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  const wantAll = (options as LookupOptions).all === true;
  dnsLookup(hostname, { ...(options as LookupOptions), all: true }, (error, addresses) => {
    if (error) return callback(error, wantAll ? [] : '', undefined);
    const list = addresses as LookupAddress[];
    const refused = firstRefused(list);
    if (refused) return callback(new PrivateTargetError(hostname, refused.address, refused.range), wantAll ? [] : '', undefined);
    const first = list[0];
    if (!first) {
      const notFound: NodeJS.ErrnoException = new Error(`${hostname} has no address`);
      notFound.code = 'ENOTFOUND';
      return callback(notFound, wantAll ? [] : '', undefined);
    }
    if (wantAll) return callback(null, list);
    return callback(null, first.address, first.family);
  });
};
