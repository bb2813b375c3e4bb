/**
 * How many stored events match a search, per time bucket: the Logs page's count and volume bar.
 * Pure: the plan (bucket width, aligned bounds) and the fold of the store's per-bucket counts into
 * the answer. The SQL is in store.ts (`countEventsByBucket`).
 *
 * Counted in the hot store with the search's own filters, so the figure is the number of events the
 * list pages through (never the traffic statistics, which cover only some filters, leave out events
 * that came too late and lag behind the processor). Counting stops after the newest
 * `VOLUME_COUNT_CAP` matches, the same newest-first walk the search makes: a count costs about what
 * paging through that many rows would, however large the range. Past the cap the total is a lower
 * bound and the buckets older than where the count stopped are unknown (null), never guessed.
 */

import { DEFAULT_VOLUME_BUCKETS, MAX_VOLUME_BUCKETS, VOLUME_COUNT_CAP, type LogVolumeAnswer } from '../../contracts/logs.js';

/** The request's limits live with its contract (src/contracts/logs.ts). */
export { DEFAULT_VOLUME_BUCKETS, MAX_VOLUME_BUCKETS, VOLUME_COUNT_CAP };

/** Bucket widths in seconds, round to read; ranges wider than 400 days use whole days. */
const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

export interface VolumePlan {
  /** The search's bounds: events at or after `fromMs` and before `toMs` (when `toBounded`). */
  fromMs: number;
  toMs: number;
  /** `to` was given: events at or after it are not counted. Otherwise the last bucket also holds events stamped after it (clocks ahead). */
  toBounded: boolean;
  /** Start of the first bucket: `fromMs` aligned down to the step (UTC, from the epoch). */
  startMs: number;
  stepMs: number;
  buckets: number;
}

/**
 * Buckets of a round width covering [from, to): the narrowest width from the list of which the range
 * spans at most `maxBuckets`, aligned on multiples of itself since the epoch (so minutes start at :00).
 * An unaligned range ("the last hour" from 12:34:56) then needs one bucket more, partly outside it:
 * 61 one-minute buckets read better than 31 two-minute ones.
 */
export function planVolume(fromMs: number, toMs: number, toBounded: boolean, maxBuckets = DEFAULT_VOLUME_BUCKETS): VolumePlan {
  const end = Math.max(toMs, fromMs + 1);
  const fits = (stepMs: number) => Math.ceil((end - fromMs) / stepMs) <= maxBuckets;
  let stepMs = (STEPS_S.find((s) => fits(s * 1000)) ?? 0) * 1000;
  if (stepMs === 0) {
    stepMs = Math.ceil((end - fromMs) / maxBuckets / 86_400_000) * 86_400_000;
    while (!fits(stepMs)) stepMs += 86_400_000;
  }
  return planWithStep(fromMs, end, toBounded, stepMs);
}

/**
 * Buckets of a given width (what a caller that knows its range asks: "the last hour" by minutes,
 * although the hour measured at the server is a few milliseconds longer), or null when the range
 * would need more than `maxBuckets + 1` of them.
 */
export function planVolumeWithStep(fromMs: number, toMs: number, toBounded: boolean, stepMs: number, maxBuckets = MAX_VOLUME_BUCKETS): VolumePlan | null {
  const plan = planWithStep(fromMs, Math.max(toMs, fromMs + 1), toBounded, stepMs);
  return plan.buckets <= maxBuckets + 1 ? plan : null;
}

function planWithStep(fromMs: number, end: number, toBounded: boolean, stepMs: number): VolumePlan {
  const startMs = Math.floor(fromMs / stepMs) * stepMs;
  return { fromMs, toMs: end, toBounded, startMs, stepMs, buckets: Math.ceil(end / stepMs) - Math.floor(fromMs / stepMs) };
}

/** What the store counted: matches per bucket index (from `startMs`), newest `VOLUME_COUNT_CAP + 1` at most. */
export interface BucketCount {
  bucket: number;
  n: number;
}

/** The answer of `GET /api/v1/logs/volume`. */
export type VolumeAnswer = LogVolumeAnswer;

/**
 * The answer from the store's counts. `counted` holds at most cap + 1 matches (the newest): more
 * than `cap` means the count stopped, so the bucket of the oldest match counted is partial and it
 * and every older bucket are unknown (null); the newer ones are exact.
 */
export function foldVolume(plan: VolumePlan, counted: readonly BucketCount[], cap = VOLUME_COUNT_CAP): VolumeAnswer {
  const counts: (number | null)[] = new Array<number | null>(plan.buckets).fill(0);
  let total = 0;
  let oldest = plan.buckets;
  for (const { bucket, n } of counted) {
    // Events stamped after an open-ended range's end (a sender's clock ahead) count in the last bucket.
    const index = Math.min(Math.max(bucket, 0), plan.buckets - 1);
    counts[index] = (counts[index] ?? 0) + n;
    total += n;
    oldest = Math.min(oldest, index);
  }
  const exact = total <= cap;
  if (!exact) counts.fill(null, 0, oldest + 1);
  const countedFrom = exact ? null : Math.max(plan.fromMs, plan.startMs + (oldest + 1) * plan.stepMs);
  return {
    from: new Date(plan.startMs).toISOString(),
    to: new Date(plan.startMs + plan.buckets * plan.stepMs).toISOString(),
    step: plan.stepMs / 1000,
    timestamps: Array.from({ length: plan.buckets }, (_, i) => (plan.startMs + i * plan.stepMs) / 1000),
    counts,
    total: exact ? total : cap,
    exact,
    counted_from: countedFrom === null ? null : new Date(countedFrom).toISOString(),
  };
}
