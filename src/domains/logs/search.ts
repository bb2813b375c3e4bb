/**
 * Reads of the hot store as domain verbs: the search (and live tail) and its volume count, taking a
 * request as its contract parses it (src/contracts/logs.ts) and answering in the contract's shape.
 */
import type { z } from 'zod';
import type { LogSearchAnswer, LogVolumeAnswer, logSearchQuery, logVolumeQuery } from '../../contracts/logs.js';
import { invalidField } from '../../platform/errors.js';
import type { Db } from '../../platform/store/index.js';
import { countEventsByBucket, searchEvents } from './store.js';
import { MAX_VOLUME_BUCKETS, VOLUME_COUNT_CAP, foldVolume, planVolume, planVolumeWithStep } from './volume.js';

export type LogSearchRequest = z.infer<typeof logSearchQuery>;
export type LogVolumeRequest = z.infer<typeof logVolumeQuery>;

/** One organisation's events matching `query`, newest first, a page at a time. */
export async function searchLogEvents(db: Db, orgId: string, query: LogSearchRequest): Promise<LogSearchAnswer> {
  const { from, to, after_id: afterId, ...rest } = query;
  return searchEvents(db, orgId, {
    ...rest,
    ...(from ? { from: new Date(from) } : {}),
    ...(to ? { to: new Date(to) } : {}),
    ...(afterId ? { afterId } : {}),
  });
}

/**
 * How many of one organisation's events match `query`, in total and per bucket. Without `from` the
 * range starts `hotDays` before `to` (nothing older is kept hot); without `to` it ends `now`.
 */
export async function countLogVolume(db: Db, orgId: string, query: LogVolumeRequest, at: { hotDays: number; now: number }): Promise<LogVolumeAnswer> {
  const { from, to, buckets, step, ...rest } = query;
  const toMs = to ? Date.parse(to) : at.now;
  const fromMs = from ? Date.parse(from) : toMs - at.hotDays * 86_400_000;
  if (fromMs >= toMs) throw invalidField('to', `must be after from (${new Date(fromMs).toISOString()})`);
  const plan = step === undefined ? planVolume(fromMs, toMs, to !== undefined, buckets) : planVolumeWithStep(fromMs, toMs, to !== undefined, step * 1000);
  if (plan === null) throw invalidField('step', `${step} s cuts the range into more than ${MAX_VOLUME_BUCKETS} buckets: give a wider step or a shorter range`);
  const filter = { ...rest, from: new Date(fromMs), ...(to ? { to: new Date(toMs) } : {}) };
  return foldVolume(plan, await countEventsByBucket(db, orgId, filter, plan, VOLUME_COUNT_CAP));
}
