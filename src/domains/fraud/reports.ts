/**
 * What the fraud detector tells the alert manager (pure): the newly stored, non-shadow alerts of a
 * transaction as condition reports.
 *
 * Invariants:
 * - A fraud match is an event (Routing.events): matches are reported per (criterion, group-by values)
 *   of one detector transaction — one instance each, labelled with the detection time
 *   (`matched`), its value the number of matches — so a burst of 37 shipments from one sender is one
 *   instance and one line of one digest. The manager tells each instance once, in the group's next
 *   digest (group wait for a new burst, then at most one digest per group interval), and closes it:
 *   nothing is repeated, no "resolved" is sent, and later matches are new instances, so a digest
 *   names only what matched since the last one.
 * - Labels carry the group-by values (e.g. sender_id), so a silence matcher on them silences one
 *   entity (its matches are closed without being told).
 */
import { MAX_DURATION_MS, durationTextMs } from '../../contracts/alerting.js';
import type { ShipmentFacts } from '../shipments/index.js';
import type { ConditionReport } from '../alerting/index.js';
import type { ActiveCriterion, NewAlert } from './engine-store.js';

/** The instance labels of a match: the criterion's group-by fields with this shipment's values. */
export function labelsOf(c: ActiveCriterion, s: ShipmentFacts): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const g of c.groupBy) {
    const v = s[g];
    labels[g] = typeof v === 'string' ? v : '';
  }
  return labels;
}

const msOf = (text: string, fallback: number): number => durationTextMs(text) ?? fallback;

/** One report per (criterion version, group-by values) of the newly stored, non-shadow alerts of one detector transaction. */
export function reportsOf(alerts: readonly NewAlert[], inserted: ReadonlySet<string>, labels: ReadonlyMap<string, Record<string, string>>, criteria: readonly ActiveCriterion[], now: Date): ConditionReport[] {
  const byId = new Map(criteria.map((c) => [`${c.id}|${c.version}`, c]));
  const groups = new Map<string, { c: ActiveCriterion; labels: Record<string, string>; count: number; sample: string[] }>();
  // Once per call and per criterion, not per alert and per report (11,583 alerts in the bench).
  const matched = now.toISOString();
  const routingOf = new Map<ActiveCriterion, { groupWaitMs: number; groupIntervalMs: number }>();
  for (const a of alerts) {
    const k = `${a.criterionId}|${a.version}|${a.shipmentId}`;
    if (a.shadow || !inserted.has(k)) continue;
    const c = byId.get(`${a.criterionId}|${a.version}`)!;
    const l = labels.get(k) ?? {};
    const instance = { ...l, matched };
    const gk = `${a.criterionId}|${JSON.stringify(instance)}`;
    const g = groups.get(gk) ?? { c, labels: instance, count: 0, sample: [] as string[] };
    g.count++;
    if (g.sample.length < 10) g.sample.push(a.externalId);
    groups.set(gk, g);
  }
  return [...groups.values()].map(({ c, labels: l, count, sample }) => {
    let timing = routingOf.get(c);
    if (!timing) routingOf.set(c, (timing = { groupWaitMs: msOf(c.groupWait, 30_000), groupIntervalMs: msOf(c.groupInterval, 15 * 60_000) }));
    const who = c.groupBy.map((g) => `${g} ${l[g] || '(none)'}`).join(', ');
    const summary = `${count} shipment${count === 1 ? '' : 's'}${who ? ` from ${who}` : ''} matched ${c.name}`;
    return {
      orgId: c.orgId,
      source: 'fraud',
      ruleId: c.id,
      ruleName: c.name,
      labels: l,
      kind: 'match',
      at: now,
      active: true,
      value: count,
      threshold: null,
      reason: summary,
      summary,
      severity: c.severity,
      timing: { forMs: 0, keepFiringForMs: 0 },
      routing: { channels: c.channels, groupBy: c.groupBy, groupWaitMs: timing.groupWaitMs, groupIntervalMs: timing.groupIntervalMs, repeatIntervalMs: MAX_DURATION_MS, events: true },
      link: `/fraud/alerts?criterion_id=${c.id}`,
      details: { criterion_version: c.version, shipments: count, external_ids: sample },
    } satisfies ConditionReport;
  });
}
