/**
 * The pure core of the stream processor: per-organisation event-time watermarks and the 1-second
 * buckets (rolled up to 10 s, 1 min, 1 h) that a batch of log events adds to. No SQL, no clock:
 * the processor loads the progress rows, calls `aggregateBatch`, and stores what it returns in the
 * same transaction as its bus checkpoint.
 *
 * Semantics (README "Traffic statistics"):
 * - Only request events count: those with a path, status or method. Other log lines are stored
 *   raw and never appear in the statistics.
 * - Each source (the event's `source`, else its `host`) has a watermark: its newest event time minus
 *   the allowed out-of-orderness. The organisation's watermark is the smallest over the sources that
 *   sent something recently (by arrival time: within the idle timeout of the newest arrival), and it
 *   never goes back. Buckets ending at or before it are final. How many sources are tracked is
 *   bounded per organisation (sources.ts: idle ones are dropped, beyond the cap new ones are folded).
 * - Arrival follows the console monitor's rule (`arrivalOf` in clock.ts): an event whose 1-second
 *   bucket lies more than the allowed lateness behind the watermark is too late: stored, flagged,
 *   counted as too late, not added. A late event within the lateness revises the stored buckets
 *   (counters are additive, sketches merge).
 * - Events are judged against the watermark as it stood before their bus message, then the message
 *   moves the watermark: a single request can be out of order by any amount without losing events.
 */
import type { LogEvent } from '../logs/index.js';
import { arrivalOf, bucketOf as secondOf } from './clock.js';
import { addHost, addLatency, emptyHosts, emptyLatency, mergeHosts, mergeLatency } from './sketch.js';
import { DEFAULT_MAX_SOURCES, SourceBook } from './sources.js';

/** Bucket widths in seconds. Counters exist at every one; sketches from 10 s up. */
export const RESOLUTIONS = [1, 10, 60, 3600] as const;
export const SKETCH_RESOLUTIONS = [10, 60, 3600] as const;

export interface StreamTiming {
  /** The watermark trails a source's newest event time by this much. */
  outOfOrderMs: number;
  /** How far behind the watermark a bucket still accepts events. */
  latenessMs: number;
  /** A source silent (by arrival time) for this long stops holding the watermark back. */
  idleMs: number;
  /** Named sources tracked per organisation; beyond it new ones are folded into one (sources.ts). Default 1,000. */
  maxSources?: number;
}

/** Just what the statistics need from a normalised log event. */
export type StreamEvent = Pick<
  LogEvent,
  'timestamp' | 'receivedAt' | 'service' | 'host' | 'source' | 'method' | 'path' | 'section' | 'status' | 'bytes' | 'durationMs' | 'remoteAddr'
>;

export interface OrgProgress {
  /** Epoch ms; null before the first event. */
  watermark: number | null;
  sources: SourceBook;
  tooLate: number;
}

/** One bus message's worth of events of one organisation. */
export interface EventGroup {
  orgId: string;
  events: readonly StreamEvent[];
}

export interface CountRow {
  orgId: string;
  resolution: number;
  bucket: number;
  service: string;
  section: string;
  statusClass: string;
  method: string;
  hits: number;
  bytes: number;
  durationCount: number;
  durationSumMs: number;
}

export interface SketchDelta {
  orgId: string;
  resolution: number;
  bucket: number;
  /** Null until a counted event lands in the bucket: too-late events, which may fall in any bucket of the hot store, need only their count. */
  hosts: Uint8Array | null;
  latency: number[] | null;
  tooLate: number;
}

export interface BatchAggregate {
  counts: CountRow[];
  sketches: SketchDelta[];
  /** Per group, per event: true when the event arrived too late to be counted. */
  tooLate: boolean[][];
  /** The progress of every organisation in the batch after it. */
  progress: Map<string, OrgProgress>;
  /** Request events added to the statistics. */
  counted: number;
}

export function statusClassOf(status: number | null): string {
  return status === null ? '' : `${Math.floor(status / 100)}xx`;
}

export function isRequestEvent(e: StreamEvent): boolean {
  return e.path !== null || e.status !== null || e.method !== null;
}

const sourceKeyOf = (e: StreamEvent) => e.source ?? e.host ?? '';

/**
 * Longest service, section or method a counter row keeps, in UTF-16 units; longer ones are cut
 * (never inside a surrogate pair). Ingest already cuts sections to this and refuses longer
 * services; events published on the bus by other means (another version, a hand-made message) are
 * cut here. Three of them (at most 3 UTF-8 bytes per unit: 2,304 bytes) fit PostgreSQL's limit for
 * one entry of the counters' primary-key index (2,704 bytes); longer, the batch failed and the
 * event, storable as it is, was set aside. The raw event keeps the whole text.
 */
export const DIMENSION_MAX_LENGTH = 256;

export function dimensionOf(text: string | null): string {
  if (text === null) return '';
  if (text.length <= DIMENSION_MAX_LENGTH) return text;
  const last = text.charCodeAt(DIMENSION_MAX_LENGTH - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? DIMENSION_MAX_LENGTH - 1 : DIMENSION_MAX_LENGTH);
}

/**
 * Longest duration added to the sums, ms (~31.7 years). Ingest takes any finite non-negative
 * number; two durations of 1e308 ms summed to Infinity, which could not be written: the batch
 * failed on every retry and every organisation's statistics stopped behind it. The raw event keeps
 * its value.
 */
export const COUNTED_DURATION_MAX_MS = 1e12;

/**
 * The bucket (epoch ms of its label) an event time falls in at a resolution. The 1-second bucket
 * is the console monitor's (`clock.ts`): second `s` holds times in (s − 1, s], so whole-second
 * access-log stamps land on their own second. A rollup of R seconds labelled L holds the
 * 1-second buckets L … L + R − 1.
 */
export function bucketStartOf(timestampMs: number, resolution: number): number {
  const second = secondOf(timestampMs / 1000);
  return Math.floor(second / resolution) * resolution * 1000;
}

/** Too late by the console monitor's rule (`arrivalOf`), against the organisation's watermark. */
export function isTooLate(timestamp: number, watermark: number | null, timing: StreamTiming): boolean {
  return watermark !== null && arrivalOf(timestamp / 1000, watermark / 1000, timing.latenessMs / 1000) === 'too-late';
}

/**
 * Counters and sketches being added up: events are counted once, into 1-second rows and 10-second
 * sketches; the coarser rollups are derived from those (far fewer) rows at the end instead of being
 * counted again per event.
 */
class Tally {
  private readonly seconds = new Map<string, CountRow>();
  private readonly tenSecondSketches = new Map<string, SketchDelta>();
  counted = 0;

  private sketchOf(orgId: string, timestamp: number): SketchDelta {
    const bucket = bucketStartOf(timestamp, SKETCH_RESOLUTIONS[0]);
    const key = `${orgId}|${bucket}`;
    let s = this.tenSecondSketches.get(key);
    if (!s) {
      s = { orgId, resolution: SKETCH_RESOLUTIONS[0], bucket, hosts: null, latency: null, tooLate: 0 };
      this.tenSecondSketches.set(key, s);
    }
    return s;
  }

  tooLate(orgId: string, e: StreamEvent): void {
    this.sketchOf(orgId, e.timestamp).tooLate++;
  }

  count(orgId: string, e: StreamEvent): void {
    this.counted++;
    const service = dimensionOf(e.service);
    const section = dimensionOf(e.section);
    const statusClass = statusClassOf(e.status);
    const method = dimensionOf(e.method);
    const bucket = bucketStartOf(e.timestamp, 1);
    const key = `${orgId}|${bucket}|${service}|${section}|${statusClass}|${method}`;
    let row = this.seconds.get(key);
    if (!row) {
      row = { orgId, resolution: 1, bucket, service, section, statusClass, method, hits: 0, bytes: 0, durationCount: 0, durationSumMs: 0 };
      this.seconds.set(key, row);
    }
    row.hits++;
    row.bytes += e.bytes ?? 0;
    if (e.durationMs !== null) {
      row.durationCount++;
      row.durationSumMs += Math.min(e.durationMs, COUNTED_DURATION_MAX_MS);
    }
    const s = this.sketchOf(orgId, e.timestamp);
    s.hosts ??= emptyHosts();
    s.latency ??= emptyLatency();
    const client = e.remoteAddr ?? e.host;
    if (client !== null) addHost(s.hosts, client);
    if (e.durationMs !== null) addLatency(s.latency, e.durationMs);
  }

  counts(): CountRow[] {
    return rollUpCounts([...this.seconds.values()]);
  }

  sketches(): SketchDelta[] {
    return rollUpSketches([...this.tenSecondSketches.values()]);
  }
}

export function aggregateBatch(groups: readonly EventGroup[], before: ReadonlyMap<string, OrgProgress>, timing: StreamTiming): BatchAggregate {
  const { tooLate, progress } = judgeBatch(groups, before, timing);
  const counter = new BatchCounter();
  groups.forEach((group, i) => counter.add(group.orgId, group.events, tooLate[i]!));
  return { ...counter.result(), tooLate, progress, counted: counter.counted };
}

/** The half of `aggregateBatch` that storing the events needs: which are too late, and the progress after them. */
export type BatchJudgement = Pick<BatchAggregate, 'tooLate' | 'progress'>;

/**
 * Judges a batch's events against the progress before it: too late or not, and each
 * organisation's progress (watermark, sources, too-late count) after the batch. The watermark moves
 * after each group (a bus message), so the events of one message are judged against the same one.
 */
export function judgeBatch(groups: readonly EventGroup[], before: ReadonlyMap<string, OrgProgress>, timing: StreamTiming): BatchJudgement {
  const progress = new Map<string, OrgProgress>();
  const tooLate: boolean[][] = [];
  const maxSources = timing.maxSources ?? DEFAULT_MAX_SOURCES;

  const progressOf = (orgId: string): OrgProgress => {
    let p = progress.get(orgId);
    if (!p) {
      const prior = before.get(orgId);
      p = prior
        ? { watermark: prior.watermark, sources: prior.sources.copy(), tooLate: prior.tooLate }
        : { watermark: null, sources: SourceBook.empty(), tooLate: 0 };
      progress.set(orgId, p);
    }
    return p;
  };

  for (const group of groups) {
    const p = progressOf(group.orgId);
    const flags = new Array<boolean>(group.events.length);
    group.events.forEach((e, i) => {
      flags[i] = isRequestEvent(e) && isTooLate(e.timestamp, p.watermark, timing);
      if (flags[i]) p.tooLate++;
    });
    tooLate.push(flags);
    // The message moves its sources, then the watermark (which also drops the sources gone idle).
    for (const e of group.events) p.sources.observe(sourceKeyOf(e), e.timestamp, e.receivedAt, maxSources);
    p.watermark = p.sources.watermark(p.watermark, timing);
  }
  return { tooLate, progress };
}

/**
 * The other half: the counters and sketches of judged events, group by group (the stream processor
 * counts a batch while PostgreSQL stores it), summed and rolled up by `result()`.
 */
export class BatchCounter {
  private readonly tally = new Tally();

  get counted(): number {
    return this.tally.counted;
  }

  /** Adds request events: counted, or only noted as too late where `tooLate` says so. */
  add(orgId: string, events: readonly StreamEvent[], tooLate: readonly boolean[]): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (!isRequestEvent(e)) continue;
      if (tooLate[i]) this.tally.tooLate(orgId, e);
      else this.tally.count(orgId, e);
    }
  }

  result(): Pick<BatchAggregate, 'counts' | 'sketches'> {
    return { counts: this.tally.counts(), sketches: this.tally.sketches() };
  }
}

/** What stored events add to the statistics, judged as they were stored (their too-late flag). */
export interface JudgedCount {
  counts: CountRow[];
  sketches: SketchDelta[];
  /** Too-late request events per organisation (added to its progress). */
  tooLate: Map<string, number>;
}

/**
 * The statistics of events already stored and judged: what `aggregateBatch` added for them, from
 * their rows. The stream processor counts again, this way, the batches whose statistics were kept
 * only in the memory of a processor that is gone.
 */
export function countJudged(rows: Iterable<{ orgId: string; tooLate: boolean; event: StreamEvent }>): JudgedCount {
  const tally = new Tally();
  const tooLate = new Map<string, number>();
  for (const { orgId, tooLate: late, event } of rows) {
    if (!isRequestEvent(event)) continue;
    if (late) {
      tally.tooLate(orgId, event);
      tooLate.set(orgId, (tooLate.get(orgId) ?? 0) + 1);
    } else tally.count(orgId, event);
  }
  return { counts: tally.counts(), sketches: tally.sketches(), tooLate };
}

/** The 1-second rows plus their sums at every coarser resolution. */
function rollUpCounts(seconds: CountRow[]): CountRow[] {
  const all = [...seconds];
  for (const resolution of RESOLUTIONS.slice(1)) {
    const rolled = new Map<string, CountRow>();
    for (const r of seconds) {
      const bucket = bucketStartOf(r.bucket, resolution);
      const key = `${r.orgId}|${bucket}|${r.service}|${r.section}|${r.statusClass}|${r.method}`;
      const into = rolled.get(key);
      if (into) {
        into.hits += r.hits;
        into.bytes += r.bytes;
        into.durationCount += r.durationCount;
        into.durationSumMs += r.durationSumMs;
      } else rolled.set(key, { ...r, resolution, bucket });
    }
    all.push(...rolled.values());
  }
  return all;
}

/** The 10-second sketches plus their merges at every coarser resolution. */
function rollUpSketches(tenSeconds: SketchDelta[]): SketchDelta[] {
  const all = [...tenSeconds];
  for (const resolution of SKETCH_RESOLUTIONS.slice(1)) {
    const rolled = new Map<string, SketchDelta>();
    for (const s of tenSeconds) {
      const bucket = bucketStartOf(s.bucket, resolution);
      const key = `${s.orgId}|${bucket}`;
      let into = rolled.get(key);
      if (!into) {
        into = { orgId: s.orgId, resolution, bucket, hosts: null, latency: null, tooLate: 0 };
        rolled.set(key, into);
      }
      if (s.hosts) mergeHosts((into.hosts ??= emptyHosts()), s.hosts);
      if (s.latency) mergeLatency((into.latency ??= emptyLatency()), s.latency);
      into.tooLate += s.tooLate;
    }
    all.push(...rolled.values());
  }
  return all;
}
