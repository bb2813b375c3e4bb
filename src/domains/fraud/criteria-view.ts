/**
 * Pure parts of criteria: a row's status, the spec a version fixes, what an edit changes, the
 * precision of the customer's reviews, and the API views. No SQL here (criteria-store.ts), no
 * rules of saving (criteria.ts).
 */
import type { z } from 'zod';
import type { AggregateUse, CriterionPatch, CriterionSpec, CriterionView, criterionStatus, criterionVersionView } from '../../contracts/fraud.js';
import type { CriterionRow, CriterionStats, VersionRow } from './criteria-store.js';

type Status = z.infer<typeof criterionStatus>;
type VersionView = z.infer<typeof criterionVersionView>;
type FraudGroupBy = CriterionSpec['group_by'][number];

/** jsonb comes back parsed from both drivers (channels may be the JSON string "*", so nothing is parsed again here). */

/**
 * paused (failed at evaluation, reason shown) wins over the switches: while it is paused the
 * criterion is not evaluated whatever they say. A new version or re-enabling clears the pause.
 */
export function statusOf(row: Pick<CriterionRow, 'enabled' | 'shadow' | 'paused_reason'>): Status {
  if (row.paused_reason !== null) return 'paused';
  if (!row.enabled) return 'disabled';
  return row.shadow ? 'shadow' : 'active';
}

/** fraud / (fraud + false_positive + benign); null before any review. */
export function precisionOf(s: Pick<CriterionStats, 'fraud' | 'false_positive' | 'benign'>): number | null {
  const reviewed = s.fraud + s.false_positive + s.benign;
  return reviewed === 0 ? null : s.fraud / reviewed;
}

/** The user-written spec of a stored row (current state or version). */
export function specOf(row: CriterionRow | VersionRow): CriterionSpec {
  return {
    name: row.name,
    description: row.description,
    expression: row.expression,
    enabled: row.enabled,
    shadow: row.shadow,
    severity: row.severity,
    channels: row.channels,
    group_by: row.group_by as FraudGroupBy[],
    group_wait: row.group_wait,
    group_interval: row.group_interval,
  };
}

/** The spec after a patch: fields not sent keep their value. */
export function patched(current: CriterionSpec, patch: CriterionPatch): CriterionSpec {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<CriterionSpec>;
  return { ...current, ...defined };
}

/** The spec as the columns of fraud_criteria / fraud_criterion_versions hold it. */
export function specColumns(spec: CriterionSpec, aggregates: AggregateUse[]) {
  return {
    name: spec.name,
    description: spec.description,
    expression: spec.expression,
    enabled: spec.enabled,
    shadow: spec.shadow,
    severity: spec.severity,
    channels: JSON.stringify(spec.channels),
    group_by: JSON.stringify(spec.group_by),
    group_wait: spec.group_wait,
    group_interval: spec.group_interval,
    aggregates: JSON.stringify(aggregates),
  };
}

const iso = (d: Date | string) => new Date(d).toISOString();
const NO_STATS: CriterionStats = { matches_7d: 0, fraud: 0, false_positive: 0, benign: 0 };

export function criterionViewOf(row: CriterionRow, stats: CriterionStats = NO_STATS): CriterionView {
  return {
    id: row.id,
    version: row.version,
    ...specOf(row),
    status: statusOf(row),
    paused_reason: row.paused_reason,
    aggregates: row.aggregates,
    created_at: iso(row.created_at),
    created_by: row.created_by,
    updated_at: iso(row.updated_at),
    updated_by: row.updated_by,
    stats: { ...stats, precision: precisionOf(stats) },
  };
}

export function versionViewOf(row: VersionRow): VersionView {
  const { description: _description, ...spec } = specOf(row);
  void _description;
  return { criterion_id: row.criterion_id, version: row.version, ...spec, created_at: iso(row.created_at), created_by: row.created_by };
}
