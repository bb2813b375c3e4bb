/**
 * The statistics a committed batch has not yet added to `traffic_counts` / `traffic_sketches`:
 * its counter and sketch deltas, kept per organisation as one journal row (`traffic_journal`,
 * migration 021) written in the batch's own transaction, and folded into the statistics tables
 * every few batches (`mergeDeltas`), in the transaction of a later batch or of an idle fold.
 *
 * Why: upserting ~1,500 counter rows per batch was a third of the processor's serial time (issue 11).
 * A second's worth of batches touches mostly the same rows (the 10 s, 1 min and 1 h rollups, and
 * the current seconds), so one merged upsert per fold writes a fraction of what a per-batch upsert
 * does, and a journal row is one INSERT. Durability is unchanged: the deltas are committed with
 * the raw events and the bus position, so a crash loses nothing; the next fold applies them.
 *
 * Invariant: the statistics tables plus the journal always equal a recount of the stored events
 * that are not too late. Readers see the statistics tables only, so the watermark they use is
 * `stream_progress.counted_watermark`, which a fold sets to the watermark as of the batches it
 * folded: a bucket a reader takes as final holds all of its counts.
 *
 * Pure: encoding, decoding and merging; no SQL.
 */
import type { CountRow, SketchDelta } from './traffic-aggregate.js';
import { HLL_REGISTERS, emptyHosts, emptyLatency, mergeHosts, mergeLatency } from './sketch.js';

/** What one or more batches add to the statistics. */
export interface Deltas {
  counts: CountRow[];
  sketches: SketchDelta[];
}

/** Fields of a counter row after its organisation, in the order the journal text holds them. */
const COUNT_FIELDS = 10;

/**
 * One organisation's deltas as journal text: JSON with the counters flattened into one array
 * (JSON.stringify is native and far cheaper than building objects per row) and each HyperLogLog
 * sketch in base64.
 */
export function encodeDeltas(counts: readonly CountRow[], sketches: readonly SketchDelta[]): string {
  const flat: (string | number)[] = new Array<string | number>(counts.length * COUNT_FIELDS);
  let i = 0;
  for (const r of counts) {
    flat[i++] = r.resolution;
    flat[i++] = r.bucket;
    flat[i++] = r.service;
    flat[i++] = r.section;
    flat[i++] = r.statusClass;
    flat[i++] = r.method;
    flat[i++] = r.hits;
    flat[i++] = r.bytes;
    flat[i++] = r.durationCount;
    flat[i++] = r.durationSumMs;
  }
  const s = sketches.map((d) => [d.resolution, d.bucket, d.hosts ? Buffer.from(d.hosts.buffer, d.hosts.byteOffset, d.hosts.byteLength).toString('base64') : null, d.latency, d.tooLate]);
  return JSON.stringify({ c: flat, s });
}

/** Thrown for journal text this version cannot read: the fold stops instead of counting wrong. */
export class JournalFormatError extends Error {
  constructor(message: string) {
    super(`traffic_journal: ${message}`);
    this.name = 'JournalFormatError';
  }
}

/** The deltas of `encodeDeltas` text, for organisation `orgId`. */
export function decodeDeltas(orgId: string, text: string): Deltas {
  const parsed = JSON.parse(text) as { c?: unknown; s?: unknown };
  if (!Array.isArray(parsed.c) || parsed.c.length % COUNT_FIELDS !== 0 || !Array.isArray(parsed.s)) throw new JournalFormatError('a row is not in the journal format');
  const c = parsed.c as (string | number)[];
  const counts: CountRow[] = [];
  for (let i = 0; i < c.length; i += COUNT_FIELDS) {
    counts.push({
      orgId,
      resolution: c[i] as number,
      bucket: c[i + 1] as number,
      service: c[i + 2] as string,
      section: c[i + 3] as string,
      statusClass: c[i + 4] as string,
      method: c[i + 5] as string,
      hits: c[i + 6] as number,
      bytes: c[i + 7] as number,
      durationCount: c[i + 8] as number,
      durationSumMs: c[i + 9] as number,
    });
  }
  const sketches = (parsed.s as [number, number, string | null, number[] | null, number][]).map(([resolution, bucket, hosts, latency, tooLate]): SketchDelta => {
    const registers = hosts === null ? null : new Uint8Array(Buffer.from(hosts, 'base64'));
    if (registers && registers.length !== HLL_REGISTERS) throw new JournalFormatError(`a sketch has ${registers.length} registers, not ${HLL_REGISTERS}`);
    return { orgId, resolution, bucket, hosts: registers, latency, tooLate };
  });
  return { counts, sketches };
}

/**
 * The deltas of several batches as one: counters with the same key added, sketches of the same
 * bucket merged (hosts: register maximum; latency and too-late: added). Keys are unique in the
 * result, as `addCounts` and `mergeSketches` need. The inputs are not changed, but a single part
 * is returned as it is.
 */
export function mergeDeltas(parts: readonly Deltas[]): Deltas {
  if (parts.length === 1) return parts[0]!;
  const counts = new Map<string, CountRow>();
  const sketches = new Map<string, SketchDelta>();
  for (const part of parts) {
    for (const r of part.counts) {
      const key = `${r.orgId}|${r.resolution}|${r.bucket}|${r.service}|${r.section}|${r.statusClass}|${r.method}`;
      const into = counts.get(key);
      if (into) {
        into.hits += r.hits;
        into.bytes += r.bytes;
        into.durationCount += r.durationCount;
        into.durationSumMs += r.durationSumMs;
      } else counts.set(key, { ...r });
    }
    for (const d of part.sketches) {
      const key = `${d.orgId}|${d.resolution}|${d.bucket}`;
      let into = sketches.get(key);
      if (!into) {
        into = { orgId: d.orgId, resolution: d.resolution, bucket: d.bucket, hosts: null, latency: null, tooLate: 0 };
        sketches.set(key, into);
      }
      if (d.hosts) mergeHosts((into.hosts ??= emptyHosts()), d.hosts);
      if (d.latency) mergeLatency((into.latency ??= emptyLatency()), d.latency);
      into.tooLate += d.tooLate;
    }
  }
  return { counts: [...counts.values()], sketches: [...sketches.values()] };
}

/** The deltas split by organisation (a journal row holds one organisation's, under row-level security). */
export function deltasByOrg(deltas: Deltas): Map<string, Deltas> {
  const byOrg = new Map<string, Deltas>();
  const of = (orgId: string): Deltas => {
    let d = byOrg.get(orgId);
    if (!d) byOrg.set(orgId, (d = { counts: [], sketches: [] }));
    return d;
  };
  for (const r of deltas.counts) of(r.orgId).counts.push(r);
  for (const s of deltas.sketches) of(s.orgId).sketches.push(s);
  return byOrg;
}
