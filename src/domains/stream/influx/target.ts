import { ConfigError, type Config } from '../../../config.js';

export type InfluxSettings = Pick<Config, 'VIGIL_INFLUX_URL' | 'VIGIL_INFLUX_DB' | 'VIGIL_INFLUX_ORG' | 'VIGIL_INFLUX_BUCKET' | 'VIGIL_INFLUX_TOKEN'>;

/** Where and how the sink writes: resolved once at start from the VIGIL_INFLUX_* settings. */
export interface InfluxTarget {
  /** 1: `/write?db=` (InfluxDB 1.x); 2: `/api/v2/write?org=&bucket=` (InfluxDB 2.x, 3.x, Cloud). */
  version: 1 | 2;
  /** The write endpoint with its query string (precision=s included); never holds credentials. */
  writeUrl: URL;
  /** The Authorization header, when the server needs one. */
  authorization: string | undefined;
}

const V2_HINT = 'InfluxDB 2.x needs VIGIL_INFLUX_ORG, VIGIL_INFLUX_BUCKET and VIGIL_INFLUX_TOKEN together';
const V1_HINT = 'InfluxDB 1.x needs VIGIL_INFLUX_DB (and, with authentication, user:password in the URL or VIGIL_INFLUX_TOKEN)';

/**
 * Checks the combination of settings and says what to change when it is inconsistent.
 *
 * - unset VIGIL_INFLUX_URL: the sink is off (any other VIGIL_INFLUX_* then is a mistake);
 * - VIGIL_INFLUX_ORG or _BUCKET set: v2, with both of them and a token (`Authorization: Token`);
 * - otherwise v1 with VIGIL_INFLUX_DB. Credentials either as `user:password@` in the URL (sent as
 *   HTTP Basic auth, which InfluxDB 1.x accepts) or as VIGIL_INFLUX_TOKEN, sent as
 *   `Authorization: Token <token>`: InfluxDB 1.8+ reads it as `user:password`, InfluxDB 2.x and
 *   Cloud's v1-compatible /write as an API token. Not both: one of them would be silently ignored.
 *
 * Extra query parameters in the URL (e.g. `?rp=` for a retention policy) are passed on.
 */
export function influxTarget(settings: InfluxSettings): InfluxTarget | undefined {
  const { VIGIL_INFLUX_URL: url, VIGIL_INFLUX_DB: db, VIGIL_INFLUX_ORG: org, VIGIL_INFLUX_BUCKET: bucket, VIGIL_INFLUX_TOKEN: token } = settings;
  const issues: string[] = [];
  if (!url) {
    const stray = (['VIGIL_INFLUX_DB', 'VIGIL_INFLUX_ORG', 'VIGIL_INFLUX_BUCKET', 'VIGIL_INFLUX_TOKEN'] as const).filter((key) => settings[key]);
    if (stray.length === 0) return undefined;
    throw new ConfigError([
      `VIGIL_INFLUX_URL: not set, but ${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'}. Set VIGIL_INFLUX_URL to the InfluxDB base URL (e.g. http://localhost:8086) to turn the InfluxDB sink on, or unset ${stray.join(', ')}.`,
    ]);
  }
  const base = new URL(url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    issues.push(`VIGIL_INFLUX_URL: "${base.protocol}" is not supported; use an http:// or https:// URL of the InfluxDB HTTP API (e.g. http://localhost:8086).`);
  }
  const hasUserInfo = base.username !== '' || base.password !== '';
  const version = org || bucket ? 2 : 1;
  if (version === 2) {
    if (db) issues.push(`VIGIL_INFLUX_DB: set together with VIGIL_INFLUX_ORG/VIGIL_INFLUX_BUCKET. Use VIGIL_INFLUX_DB for InfluxDB 1.x or ORG + BUCKET for 2.x, not both.`);
    if (!org) issues.push(`VIGIL_INFLUX_ORG: missing (VIGIL_INFLUX_BUCKET is set). ${V2_HINT}.`);
    if (!bucket) issues.push(`VIGIL_INFLUX_BUCKET: missing (VIGIL_INFLUX_ORG is set). ${V2_HINT}.`);
    if (!token) issues.push(`VIGIL_INFLUX_TOKEN: missing. ${V2_HINT}; create a token with write access to the bucket.`);
    if (hasUserInfo) issues.push('VIGIL_INFLUX_URL: holds user:password, which InfluxDB 2.x does not use; remove it and authenticate with VIGIL_INFLUX_TOKEN.');
  } else {
    if (!db) issues.push(`VIGIL_INFLUX_DB: missing. ${V1_HINT}; for InfluxDB 2.x set VIGIL_INFLUX_ORG, VIGIL_INFLUX_BUCKET and VIGIL_INFLUX_TOKEN instead.`);
    if (hasUserInfo && token) issues.push('VIGIL_INFLUX_TOKEN: set together with user:password in VIGIL_INFLUX_URL; use one of them.');
  }
  if (issues.length > 0) throw new ConfigError(issues);

  let authorization: string | undefined;
  if (token) authorization = `Token ${token}`;
  else if (hasUserInfo) {
    const credentials = `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`;
    authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  // fetch refuses URLs with credentials, and they must not end up in log lines either.
  base.username = '';
  base.password = '';
  // A base path (InfluxDB behind a reverse proxy at /influx) is kept: the endpoint is relative to it.
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const writeUrl = new URL(version === 2 ? 'api/v2/write' : 'write', base);
  writeUrl.search = base.search;
  if (version === 2) {
    writeUrl.searchParams.set('org', org ?? '');
    writeUrl.searchParams.set('bucket', bucket ?? '');
  } else {
    writeUrl.searchParams.set('db', db ?? '');
  }
  writeUrl.searchParams.set('precision', 's');
  return { version, writeUrl, authorization };
}
