import type { AlertView, SilenceView } from '../../contracts/alerting.js';
import { silenceState, silencesFor, type Silence } from './silences.js';
import type { InstanceRow, SilenceRow } from './store.js';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** An instance as the API shows it; `silences` are the organisation's live ones, matched at `now`. */
export function alertViewOf(row: InstanceRow, silences: readonly Silence[], now: number): AlertView {
  const since = row.state === 'firing' ? row.firing_since : row.state === 'resolved' ? row.resolved_at : row.state === 'pending' ? row.active_since : row.updated_at;
  return {
    fingerprint: row.fingerprint,
    source: row.source as AlertView['source'],
    rule_id: row.rule_id,
    rule_name: row.rule_name,
    labels: row.labels,
    state: row.state,
    severity: row.severity as AlertView['severity'],
    summary: row.summary,
    value: row.value,
    threshold: row.threshold,
    since: (since ?? row.updated_at).toISOString(),
    firing_since: iso(row.firing_since),
    resolved_at: iso(row.resolved_at),
    acknowledged_at: iso(row.acknowledged_at),
    acknowledged_by: row.acknowledged_by,
    silenced_by: row.state === 'firing' || row.state === 'pending' ? silencesFor(row.labels, silences, now).map((s) => s.id) : [],
    group_key: row.group_key,
    updated_at: row.updated_at.toISOString(),
  };
}

export function silenceViewOf(row: SilenceRow, now: number): SilenceView {
  return {
    id: row.id,
    matchers: row.matchers,
    starts_at: row.starts_at.toISOString(),
    ends_at: row.ends_at.toISOString(),
    state: silenceState({ id: row.id, matchers: row.matchers, startsAt: row.starts_at.getTime(), endsAt: row.ends_at.getTime() }, now),
    comment: row.comment,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}
