import { describe, expect, it } from 'vitest';
import { EVENTS_PER_REQUEST, MANY_HOSTS, MANY_MIN_PAYLOADS, generate, stampJson, stampLines } from '../bench/ingest-data.js';

/**
 * The ingest bench compares Vigil and InfluxDB on "the same events": the JSON and line-protocol
 * renderings of each event must agree, and every line must be a distinct InfluxDB point (else
 * InfluxDB overwrites and the stored = acknowledged check fails for the bench's own reasons).
 */

interface JsonEvent {
  timestamp: string;
  service: string;
  host: string;
  source?: string;
  method: string;
  status: number;
  path: string;
  bytes: number;
}

/** Tags and timestamp of a line (tag values here hold no escaped characters). */
function parseLine(line: string): { tags: Record<string, string>; fields: string; timestamp: string } {
  const [series, ...rest] = line.split(' ');
  const timestamp = rest.pop()!;
  const tags = Object.fromEntries(series!.split(',').slice(1).map((kv) => kv.split('=') as [string, string]));
  return { tags, fields: rest.join(' '), timestamp };
}

describe('ingest bench data', () => {
  const now = Date.UTC(2024, 5, 1, 12, 0, 0, 500);

  it('renders each event with the same values and millisecond in JSON and in line protocol', () => {
    const { templates } = generate('few', 2);
    const events = JSON.parse(stampJson(templates[1]!, now)) as JsonEvent[];
    const lines = stampLines(templates[1]!, 1, now, 'ns').trimEnd().split('\n');
    expect(events).toHaveLength(EVENTS_PER_REQUEST);
    expect(lines).toHaveLength(EVENTS_PER_REQUEST);
    events.forEach((e, i) => {
      const line = parseLine(lines[i]!);
      expect(line.tags).toEqual({ host: e.host, method: e.method, service: e.service, source: 'nginx', status: String(e.status) });
      expect(line.fields).toContain(`path=${JSON.stringify(e.path)}`);
      expect(line.fields).toContain(`bytes=${e.bytes}i`);
      expect(BigInt(line.timestamp) / 1_000_000n).toBe(BigInt(Date.parse(e.timestamp)));
      expect(lines[i]!.startsWith('access,')).toBe(true);
    });
  });

  it('gives every event of the data its own nanosecond timestamp, and ms precision the plain millisecond', () => {
    const { templates } = generate('few', 3);
    const stamps = templates.flatMap((t, k) => stampLines(t, k, now, 'ns').trimEnd().split('\n').map((l) => parseLine(l).timestamp));
    expect(new Set(stamps).size).toBe(3 * EVENTS_PER_REQUEST);
    const ms = stampLines(templates[0]!, 0, now, 'ms').trimEnd().split('\n').map((l) => Number(parseLine(l).timestamp));
    expect(ms.every((t) => t <= now && t > now - 2000)).toBe(true);
  });

  it('many: no source, and every one of the 250,000 hosts in the payloads the bench generates', () => {
    expect(MANY_MIN_PAYLOADS * EVENTS_PER_REQUEST).toBeGreaterThanOrEqual(MANY_HOSTS);
    const { templates, distinct } = generate('many', 2);
    const events = JSON.parse(stampJson(templates[0]!, now)) as JsonEvent[];
    expect(events.some((e) => 'source' in e)).toBe(false);
    expect(stampLines(templates[0]!, 0, now, 'ns')).not.toContain('source=');
    // Hosts are walked in order through a shuffled pool: two payloads hold 2000 distinct ones.
    expect(distinct.hosts).toBe(2 * EVENTS_PER_REQUEST);
    expect(distinct.sourceKeys).toBe(distinct.hosts);
  });
});
