/**
 * Backtest: a draft expression over the organisation's shipments of the last N days, with the
 * aggregates as of each shipment's creation time (as the detector computes them), so that what a
 * backtest shows is what the criterion would have matched.
 *
 * Invariants: reads only the organisation's rows; reads at most MAX_BACKTEST_SHIPMENTS shipments
 * (the newest; `truncated` says so); an expression that does not check is a 400 naming the field.
 */
import type { z } from 'zod';
import type { backtestRequest, BacktestResult } from '../../contracts/fraud.js';
import { invalidField } from '../../platform/errors.js';
import type { Db } from '../../platform/store/index.js';
import { shipmentsCreatedIn } from '../shipments/index.js';
import { compileCriterion, checkExpression } from './cel.js';
import { evaluateBatch } from './engine.js';
import { listsOf } from './engine-store.js';

/** The most shipments one backtest reads (bounds its time and memory). */
export const MAX_BACKTEST_SHIPMENTS = 50_000;

type BacktestRequest = z.input<typeof backtestRequest>;

export async function runBacktest(db: Db, orgId: string, request: BacktestRequest, now: Date): Promise<BacktestResult> {
  const days = request.days ?? 30;
  const sampleCount = request.samples ?? 20;
  const lists = await listsOf(db, orgId);
  const check = checkExpression(request.expression, new Map([...lists].map(([n, items]) => [n, items.length])));
  if (!check.ok) {
    const first = check.errors[0];
    const where = first?.line ? ` (line ${first.line}, column ${first.column ?? '?'})` : '';
    throw invalidField('expression', `${first?.message ?? 'does not check'}${where}`);
  }
  const compiled = compileCriterion(request.expression, lists);
  const from = new Date(now.getTime() - days * 86_400_000);
  const read = await shipmentsCreatedIn(db, orgId, from, now, MAX_BACKTEST_SHIPMENTS + 1);
  const truncated = read.length > MAX_BACKTEST_SHIPMENTS;
  const shipments = truncated ? read.slice(0, MAX_BACKTEST_SHIPMENTS) : read;

  const perDay = new Map<string, { evaluated: number; matched: number }>();
  for (let d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate())); d <= now; d = new Date(d.getTime() + 86_400_000)) {
    perDay.set(d.toISOString().slice(0, 10), { evaluated: 0, matched: 0 });
  }
  let matched = 0;
  let errors = 0;
  let firstError: string | null = null;
  const samples: BacktestResult['samples'] = [];
  // Newest first (as read): the samples are the most recent matches.
  await evaluateBatch(db, orgId, shipments, [compiled], (s, _i, outcome) => {
    const day = s.created_at.toISOString().slice(0, 10);
    const counts = perDay.get(day) ?? { evaluated: 0, matched: 0 };
    perDay.set(day, counts);
    counts.evaluated++;
    if (outcome.kind === 'match') {
      counts.matched++;
      matched++;
      if (samples.length < sampleCount) samples.push({ external_id: s.external_id, created_at: s.created_at.toISOString(), values: outcome.values });
    } else if (outcome.kind === 'error') {
      errors++;
      firstError ??= `${s.external_id}: ${outcome.message}`;
    }
  });
  return {
    from: from.toISOString(),
    to: now.toISOString(),
    evaluated: shipments.length,
    matched,
    errors,
    first_error: firstError,
    per_day: [...perDay.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, c]) => ({ day, ...c })),
    samples,
    truncated,
  };
}
