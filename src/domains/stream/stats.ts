/**
 * The statistics read as a domain verb: a request as its contract parses it (instants and step as
 * text, `now-6h` included) becomes a plan, read from the store. A parameter the planner refuses is
 * an `invalid_field` error naming it.
 */
import type { StatsAnswer, StatsQuery } from '../../contracts/stream.js';
import { invalidField } from '../../platform/errors.js';
import type { Db } from '../../platform/store/index.js';
import { readStats } from './stats-query.js';
import { parseDuration, parseInstant } from '../../platform/instants.js';
import { StatsRequestError, planStats } from './stats-shape.js';

/** Parses an instant parameter or throws naming it. */
function instant(field: 'from' | 'to', value: string | undefined, nowSeconds: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = parseInstant(value, nowSeconds);
  if (seconds === null) throw invalidField(field, `"${value}" is not an instant: use ISO 8601 with a zone (2026-03-01T12:00:00Z), unix seconds, or now-6h.`);
  return seconds;
}

/** A plan, or an invalid_field error naming the parameter the planner refused. */
function checked<T>(plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    if (error instanceof StatsRequestError) throw invalidField(error.field, error.message);
    throw error;
  }
}

/** One organisation's traffic statistics for `query`, as of `nowSeconds` (unix seconds). */
export async function trafficStats(db: Db, orgId: string, query: StatsQuery, nowSeconds: number): Promise<StatsAnswer> {
  const { from, to, step, ...rest } = query;
  let stepSeconds: number | undefined;
  if (step !== undefined && step !== '') {
    const parsed = parseDuration(step);
    if (parsed === null) throw invalidField('step', `"${step}" is not a duration: use seconds (10) or 10s, 5m, 1h, 1d.`);
    stepSeconds = parsed;
  }
  const plan = checked(() => planStats({ from: instant('from', from, nowSeconds), to: instant('to', to, nowSeconds), step: stepSeconds, ...rest }, nowSeconds));
  return readStats(db, orgId, plan, nowSeconds);
}
