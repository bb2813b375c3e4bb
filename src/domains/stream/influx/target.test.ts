import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../config.js';
import { influxTarget, type InfluxSettings } from './target.js';

const settings = (values: Partial<InfluxSettings>): InfluxSettings => ({
  VIGIL_INFLUX_URL: undefined,
  VIGIL_INFLUX_DB: undefined,
  VIGIL_INFLUX_ORG: undefined,
  VIGIL_INFLUX_BUCKET: undefined,
  VIGIL_INFLUX_TOKEN: undefined,
  ...values,
});

/** The ConfigError's message lines, or a failure when the settings were accepted. */
function issuesOf(values: Partial<InfluxSettings>): string[] {
  try {
    influxTarget(settings(values));
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('settings were accepted');
}

describe('InfluxDB settings', () => {
  it('is off when nothing is set', () => {
    expect(influxTarget(settings({}))).toBeUndefined();
  });

  it('refuses database, bucket or token settings without a URL instead of silently staying off', () => {
    expect(issuesOf({ VIGIL_INFLUX_DB: 'vigil', VIGIL_INFLUX_TOKEN: 't' })).toEqual([expect.stringMatching(/^VIGIL_INFLUX_URL: not set, but VIGIL_INFLUX_DB, VIGIL_INFLUX_TOKEN are\./)]);
  });

  it('writes to /write?db= for InfluxDB 1.x, without authentication', () => {
    const target = influxTarget(settings({ VIGIL_INFLUX_URL: 'http://influx:8086', VIGIL_INFLUX_DB: 'vigil stats' }));
    expect(target?.version).toBe(1);
    expect(target?.writeUrl.href).toBe('http://influx:8086/write?db=vigil+stats&precision=s');
    expect(target?.authorization).toBeUndefined();
  });

  it('sends user:password from the URL as Basic auth and keeps it out of the URL', () => {
    const target = influxTarget(settings({ VIGIL_INFLUX_URL: 'https://vigil:p%40ss@influx.example/', VIGIL_INFLUX_DB: 'vigil' }));
    expect(target?.writeUrl.href).toBe('https://influx.example/write?db=vigil&precision=s');
    expect(target?.authorization).toBe(`Basic ${Buffer.from('vigil:p@ss').toString('base64')}`);
  });

  it('sends a v1 token as "Authorization: Token" and keeps a base path and extra parameters such as rp', () => {
    const target = influxTarget(settings({ VIGIL_INFLUX_URL: 'http://proxy/influx?rp=week', VIGIL_INFLUX_DB: 'vigil', VIGIL_INFLUX_TOKEN: 'user:secret' }));
    expect(target?.writeUrl.href).toBe('http://proxy/influx/write?rp=week&db=vigil&precision=s');
    expect(target?.authorization).toBe('Token user:secret');
  });

  it('writes to /api/v2/write?org=&bucket= when org and bucket are set', () => {
    const target = influxTarget(settings({ VIGIL_INFLUX_URL: 'http://influx:8086/', VIGIL_INFLUX_ORG: 'acme', VIGIL_INFLUX_BUCKET: 'traffic', VIGIL_INFLUX_TOKEN: 'tok' }));
    expect(target?.version).toBe(2);
    expect(target?.writeUrl.href).toBe('http://influx:8086/api/v2/write?org=acme&bucket=traffic&precision=s');
    expect(target?.authorization).toBe('Token tok');
  });

  it('names every missing or conflicting v2 setting at once', () => {
    const issues = issuesOf({ VIGIL_INFLUX_URL: 'http://u:p@influx:8086', VIGIL_INFLUX_BUCKET: 'traffic', VIGIL_INFLUX_DB: 'vigil' });
    expect(issues.map((issue) => issue.split(':')[0])).toEqual(['VIGIL_INFLUX_DB', 'VIGIL_INFLUX_ORG', 'VIGIL_INFLUX_TOKEN', 'VIGIL_INFLUX_URL']);
  });

  it('asks for a database (or the v2 settings) when only the URL is set', () => {
    expect(issuesOf({ VIGIL_INFLUX_URL: 'http://influx:8086' })).toEqual([expect.stringMatching(/^VIGIL_INFLUX_DB: missing\. .*VIGIL_INFLUX_ORG, VIGIL_INFLUX_BUCKET and VIGIL_INFLUX_TOKEN/)]);
  });

  it('refuses two v1 credentials and non-HTTP URLs', () => {
    expect(issuesOf({ VIGIL_INFLUX_URL: 'http://u:p@influx:8086', VIGIL_INFLUX_DB: 'vigil', VIGIL_INFLUX_TOKEN: 't' })).toEqual([expect.stringMatching(/^VIGIL_INFLUX_TOKEN: .*use one of them/)]);
    expect(issuesOf({ VIGIL_INFLUX_URL: 'udp://influx:8089', VIGIL_INFLUX_DB: 'vigil' })).toEqual([expect.stringMatching(/^VIGIL_INFLUX_URL: "udp:" is not supported/)]);
  });
});
