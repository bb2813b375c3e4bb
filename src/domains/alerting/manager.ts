/**
 * The alert manager: the one place that owns alert state, for every source (jobs, log rules,
 * fraud). Sources report conditions (`reportConditions`) inside their own transaction; the flush
 * worker (`flushDueGroups`) wakes the groups whose timers ran out.
 *
 * Invariants:
 * - Instance state follows the reports' own time (`at`: event time for log rules), one
 *   `observe()` per report in order; group decisions follow the wall clock (`now`).
 * - Reports are all applied before any group is decided: a catch-up (many reports, one `now`)
 *   notifies only the final states.
 * - Group state (`announced`, `last_notified_at`, `wake_at`) is written in the same transaction as
 *   the notification it queues, and the notification's idempotency key is
 *   `group:<group key>:<notified-at ms>`: a restart or a redelivery never sends twice, a rollback
 *   sends nothing and leaves the group owing what it owed.
 * - Locks are taken instances first ((organisation, fingerprint) order), then groups
 *   ((organisation, key) order), each class in one statement for every organisation reported, so
 *   concurrent reporters never deadlock; the flush worker locks the due groups of one organisation
 *   with SKIP LOCKED (key order) and reads members without locking them. A new instance or group is
 *   locked by the insert that creates it (in the same order, before the existing ones are locked):
 *   another reporter of it waits at its own insert, then finds it existing and locks it.
 * - A new instance or group is written once, in its final state; only existing ones are read
 *   (locked) and updated. Groups are never deleted and an instance is written with its group in
 *   the same transaction, so a group inserted now has no members but this batch's instances. An
 *   event its new group closes at once (told with group wait 0, or silenced) is inserted closed:
 *   whether the group is new is read (unlocked) before the instances are inserted; if another
 *   reporter creates it in between, the events inserted closed are opened again (our own rows: no
 *   lock waited for) before the group is locked and decided as any existing group.
 * - Groups are decided in batches (`decideGroups`): a constant number of statements however many
 *   reports, groups and organisations a report or a flush touches, all in the same transaction.
 * - An acknowledged instance, like a silenced one, is left out of repeats (reminders stop) but its
 *   resolve is still sent.
 * - A mute window open at `now` is an active silence ending when the window closes (mutes.ts). A
 *   group with a firing member that a window matches wakes at the window's next opening or
 *   closing: what was held back while it was open is sent when it closes, if still firing.
 */
import type { AlertSource } from '../../contracts/alerting.js';
import type { NotifiedAlert } from '../../contracts/notify.js';
import { newId } from '../../platform/ids.js';
import type { Db } from '../../platform/store/index.js';
import { recordAlerts, type AlertNotice, type AlertRecord } from '../notify/index.js';
import type { ConditionReport, Routing } from './conditions.js';
import { IDLE_GROUP, decideGroup, type GroupMember, type GroupNotification, type GroupState } from './grouping.js';
import { NEW_INSTANCE, observe, type Instance, type Transition } from './instance.js';
import { buildGroupMessage, fingerprintOf, groupKeyOf, instanceLabels, type NotifiedInstance } from './messages.js';
import { muteMatches, nextBoundary, openAsSilences, type MuteWindow } from './mutes.js';
import { silencesFor, type Silence } from './silences.js';
import {
  closeEvents,
  eventCloseReason,
  countActiveByRule,
  endInstances,
  lockActiveInstancesOfRule,
  lockGroupsByKey,
  insertNewGroups,
  insertNewInstances,
  insertTransitions,
  lockGroups,
  lockInstances,
  reopenEvents,
  rerouteGroups,
  selectExistingGroups,
  selectLiveMuteWindows,
  selectLiveSilences,
  selectLiveSilencesOf,
  selectMembersOfGroups,
  orgKey,
  updateGroups,
  updateInstances,
  type GroupRow,
  type GroupUpdate,
  type InstanceRow,
  type NewInstanceRow,
  type MuteWindowRow,
  type SilenceRow,
  type TransitionRow,
} from './store.js';
import type { StoredRouting } from './tables.js';

export interface ManagerOptions {
  /** Public base URL that makes notification links absolute ('' or absent: paths). */
  baseUrl?: string;
}

const ms = (d: Date | null): number | null => (d === null ? null : d.getTime());
const date = (n: number | null): Date | null => (n === null ? null : new Date(n));
const finite = (n: number) => Number.isFinite(n) && n > 0;

/** Routing as a group stores it (repeat "never" as null, since JSON has no Infinity). */
export const storedRouting = (r: Routing): StoredRouting => ({
  channels: r.channels === '*' ? '*' : [...r.channels],
  group_by: [...r.groupBy],
  group_wait_ms: Math.max(0, r.groupWaitMs),
  group_interval_ms: Math.max(0, r.groupIntervalMs),
  repeat_interval_ms: finite(r.repeatIntervalMs) ? r.repeatIntervalMs : null,
  ...(r.events ? { events: true } : {}),
});

/** Field by field: jsonb does not keep key order, so the stored and the reported routing are not compared as text. */
function sameRouting(a: StoredRouting, b: StoredRouting): boolean {
  const list = (c: StoredRouting['channels']) => (c === '*' ? '*' : [...c].sort().join(','));
  return (
    list(a.channels) === list(b.channels) &&
    [...a.group_by].sort().join(',') === [...b.group_by].sort().join(',') &&
    a.group_wait_ms === b.group_wait_ms &&
    a.group_interval_ms === b.group_interval_ms &&
    a.repeat_interval_ms === b.repeat_interval_ms &&
    (a.events ?? false) === (b.events ?? false)
  );
}

const timingOf = (r: StoredRouting) => ({
  groupWaitMs: r.group_wait_ms,
  groupIntervalMs: r.group_interval_ms,
  repeatIntervalMs: r.repeat_interval_ms ?? Number.POSITIVE_INFINITY,
  events: r.events ?? false,
});

const instanceOf = (row: NewInstanceRow | undefined): Instance =>
  row
    ? {
        state: row.state,
        activeSince: ms(row.active_since),
        firingSince: ms(row.firing_since),
        clearSince: ms(row.clear_since),
        value: row.value,
        acknowledgedAt: ms(row.acknowledged_at),
      }
    : NEW_INSTANCE;

export const toSilence = (s: SilenceRow): Silence => ({ id: s.id, matchers: s.matchers, startsAt: s.starts_at.getTime(), endsAt: s.ends_at.getTime() });

export const toMuteWindow = (w: MuteWindowRow): MuteWindow => ({
  id: w.id,
  kind: w.kind,
  matchers: w.matchers,
  startsAt: ms(w.starts_at),
  endsAt: ms(w.ends_at),
  cron: w.cron,
  tz: w.tz,
  durationMs: w.duration_s === null ? null : w.duration_s * 1000,
});

/** What hides instances from notifications: the organisation's silences and mute windows not over at `now`. */
export interface Suppressions {
  silences: Silence[];
  windows: MuteWindow[];
}

export async function loadSuppressions(db: Db, orgId: string, now: Date): Promise<Suppressions> {
  const [silences, windows] = await Promise.all([selectLiveSilences(db, orgId, now), selectLiveMuteWindows(db, [orgId], now)]);
  return { silences: silences.map(toSilence), windows: windows.map(toMuteWindow) };
}

/** `loadSuppressions` of many organisations in two queries, by organisation id (one with none has empty lists). */
async function loadSuppressionsOf(db: Db, orgIds: readonly string[], now: Date): Promise<Map<string, Suppressions>> {
  const byOrg = new Map<string, Suppressions>(orgIds.map((o) => [o, { silences: [], windows: [] }]));
  const silences = await selectLiveSilencesOf(db, orgIds, now);
  const windows = await selectLiveMuteWindows(db, orgIds, now);
  for (const row of silences) byOrg.get(row.org_id)?.silences.push(toSilence(row));
  for (const row of windows) byOrg.get(row.org_id)?.windows.push(toMuteWindow(row));
  return byOrg;
}

/** The silences active at `now`, mute windows open at `now` included (as silences ending when they close). */
export const activeSilences = (s: Suppressions, now: number): Silence[] => [...s.silences, ...openAsSilences(s.windows, now)];

interface KeyedReport {
  r: ConditionReport;
  /** Position in the batch: transitions are stored in report order. */
  n: number;
  fingerprint: string;
  groupKey: string;
  instance: string;
  group: string;
}

interface Applied {
  rows: Map<string, NewInstanceRow>;
  transitions: { n: number; row: TransitionRow }[];
  changed: Set<string>;
}

/** `observe()` of each report in order, from the stored row of its instance (none: `NEW_INSTANCE`). Pure. */
function applyReports(keyed: readonly KeyedReport[], stored: ReadonlyMap<string, InstanceRow>): Applied {
  const rows = new Map<string, NewInstanceRow>();
  const transitions: Applied['transitions'] = [];
  const changed = new Set<string>();
  for (const { r, n, fingerprint, groupKey, instance } of keyed) {
    const orgId = r.orgId;
    const before = rows.get(instance) ?? stored.get(instance);
    const decision = observe(instanceOf(before), { at: r.at.getTime(), active: r.active, value: r.value, reason: r.reason }, r.timing);
    const next = decision.instance;
    const t: Transition | undefined = decision.transition;
    if (t) {
      transitions.push({ n, row: { org_id: orgId, fingerprint, at: new Date(t.at), from_state: t.from, to_state: t.to, reason: t.reason, value: t.value } });
      changed.add(instance);
    }
    const resolvedAt = t?.to === 'resolved' ? new Date(t.at) : next.state === 'resolved' ? (before?.resolved_at ?? null) : null;
    const acknowledged = next.acknowledgedAt !== null;
    rows.set(instance, {
      org_id: orgId,
      fingerprint,
      source: r.source,
      rule_id: r.ruleId,
      rule_name: r.ruleName,
      labels: instanceLabels(r),
      severity: r.severity,
      summary: r.summary,
      kind: r.kind ?? '',
      state: next.state,
      active_since: date(next.activeSince),
      firing_since: date(next.firingSince),
      clear_since: date(next.clearSince),
      resolved_at: resolvedAt,
      value: r.value,
      threshold: r.threshold,
      acknowledged_at: date(next.acknowledgedAt),
      acknowledged_by: acknowledged ? (before?.acknowledged_by ?? null) : null,
      group_key: groupKey,
      link: r.link ?? null,
      details: { ...(r.details ?? {}), reason: r.reason },
    });
  }
  return { rows, transitions, changed };
}

/**
 * Applies condition reports (of one or many organisations) inside the caller's transaction:
 * instance states and transitions, then one decision per touched group (notifications queued in
 * the same transaction). A constant number of statements however many reports, groups and
 * organisations.
 *
 * New instances and groups (most of a big batch: fraud matches make new ones) are written once,
 * in their final state, by the statement that creates them; only those that existed are locked,
 * recomputed from their stored state and updated. An event that its new group's decision closes
 * is inserted closed (resolved, with both transitions), not inserted firing and then closed by a
 * second write of the row. The lock order is kept: instances are inserted,
 * then the existing ones locked, each in (organisation, fingerprint) order, before any group is
 * inserted, then locked, in (organisation, key) order. A row another reporter inserted and has not
 * committed yet makes our insert wait for it, then count it as existing. A group inserted now has
 * no members but this batch's instances (groups are never deleted, and no instance is written
 * without its group in the same transaction), so its decision needs no read.
 */
export async function reportConditions(trx: Db, reports: readonly ConditionReport[], now: Date, options: ManagerOptions = {}): Promise<void> {
  if (reports.length === 0) return;
  const withKeys: KeyedReport[] = reports.map((r, n) => {
    const fingerprint = fingerprintOf(r.source, r.ruleId, r.labels);
    const groupKey = groupKeyOf(r.source, r.ruleId, r.routing.groupBy, r.labels);
    return { r, n, fingerprint, groupKey, instance: orgKey(r.orgId, fingerprint), group: orgKey(r.orgId, groupKey) };
  });

  const groups = new Map<string, GroupRow>();
  for (const { r, groupKey, group } of withKeys) groups.set(group, idleGroup(r, groupKey, now));
  const suppressions = new Map<string, Suppressions>();
  const suppressionsOf = async (orgIds: readonly string[]): Promise<Map<string, Suppressions>> => {
    const missing = [...new Set(orgIds)].filter((o) => !suppressions.has(o));
    if (missing.length) for (const [o, s] of await loadSuppressionsOf(trx, missing, now)) suppressions.set(o, s);
    return suppressions;
  };
  /**
   * The groups decided as if new, from the members this batch gives them (firing ones: a new group
   * announced nothing), in fingerprint order as the store reads them. A group's decision can change
   * only when a member changed state, a timer of it is due, or its routing changed (silences wake
   * it by their end time): the others are left alone, so a rule re-evaluated every second costs no
   * group work while nothing happens. A new group has no timer and no earlier routing: it is
   * decided only when a member changed.
   */
  const planAsNew = async (changedGroups: ReadonlySet<string>, rows: Iterable<NewInstanceRow>): Promise<Plan> => {
    const fresh = [...groups.entries()].filter(([key]) => changedGroups.has(key)).map(([, g]) => g);
    if (fresh.length === 0) return { updates: [], due: [], told: [] };
    const batchMembers = new Map<string, InstanceRow[]>();
    for (const row of [...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0))) {
      const key = orgKey(row.org_id, row.group_key);
      if (row.state !== 'firing' || !changedGroups.has(key)) continue;
      const members = batchMembers.get(key) ?? [];
      // updated_at is read only of resolved members.
      members.push({ ...row, updated_at: now });
      batchMembers.set(key, members);
    }
    return planGroups(fresh, batchMembers, await suppressionsOf(fresh.map((g) => g.org_id)), now);
  };
  const groupsChangedBy = (instances: ReadonlySet<string>) => new Set(withKeys.filter((k) => instances.has(k.instance)).map((k) => k.group));

  // Every instance as if new, and its group's decision as if new too: an event that decision closes
  // at once (told, or silenced) is inserted closed when its group does not exist yet (groups are
  // never deleted, so one seen existing stays so), rather than inserted firing and closed by a
  // second write. Those that existed are then recomputed from their locked rows; what the guess
  // got wrong (a group another reporter created meanwhile, an existing member) is put right below.
  const asNew = applyReports(withKeys, new Map());
  const predicted = await planAsNew(groupsChangedBy(asNew.changed), asNew.rows.values());
  const existingGroups = await selectExistingGroups(
    trx,
    [...new Map(predicted.told.map((t) => [orgKey(t.orgId, t.groupKey), { orgId: t.orgId, groupKey: t.groupKey }])).values()],
  );
  const closing = new Map(predicted.told.filter((t) => !existingGroups.has(orgKey(t.orgId, t.groupKey))).map((t) => [orgKey(t.orgId, t.fingerprint), t]));
  const inserted = await insertNewInstances(
    trx,
    [...asNew.rows].map(([key, row]) => (closing.has(key) ? closedEvent(row, now) : row)),
  );
  const rows = new Map([...asNew.rows].filter(([key]) => inserted.has(key)));
  let transitions = asNew.transitions.filter((t) => inserted.has(orgKey(t.row.org_id, t.row.fingerprint)));
  const changedInstances = new Set([...asNew.changed].filter((key) => inserted.has(key)));
  const existing = withKeys.filter((k) => !inserted.has(k.instance));
  let asNewGroups = predicted;
  if (existing.length > 0) {
    const stored = await lockInstances(trx, [...new Map(existing.map((k) => [k.instance, { orgId: k.r.orgId, fingerprint: k.fingerprint }])).values()]);
    const applied = applyReports(existing, stored);
    await updateInstances(trx, [...applied.rows.values()]);
    for (const [key, row] of applied.rows) rows.set(key, row);
    for (const key of applied.changed) changedInstances.add(key);
    transitions = [...transitions, ...applied.transitions].sort((a, b) => a.n - b.n);
    // The groups with an existing member are decided again from its recomputed state (the others'
    // members were all inserted: the prediction is their decision).
    const mixed = new Set(existing.map((k) => k.group));
    const again = await planAsNew(new Set([...groupsChangedBy(changedInstances)].filter((g) => mixed.has(g))), rows.values());
    const kept = (keys: { orgId: string; groupKey: string }) => !mixed.has(orgKey(keys.orgId, keys.groupKey));
    asNewGroups = {
      updates: [...predicted.updates.filter(kept), ...again.updates],
      due: [...predicted.due.filter((d) => kept({ orgId: d.group.org_id, groupKey: d.group.group_key })), ...again.due],
      told: [...predicted.told.filter(kept), ...again.told],
    };
  }

  const decided = new Map(asNewGroups.updates.map((u) => [orgKey(u.orgId, u.groupKey), u]));
  const created = await insertNewGroups(
    trx,
    [...groups.entries()].map(([key, g]) => ({ ...(decided.get(key) ?? { ...idleUpdate, routing: g.routing }), orgId: g.org_id, groupKey: g.group_key, source: g.source, ruleId: g.rule_id })),
  );
  const createdPlan = onlyGroups(asNewGroups, created);
  // Closed by their insert: the events a created group's decision closes. Inserted closed but not
  // closed by that decision (another reporter created the group first): open again, for the group's
  // own decision below. Closed by the decision but not inserted closed: closed with the others.
  const closedAtInsert = new Set(createdPlan.told.map((t) => orgKey(t.orgId, t.fingerprint)).filter((key) => closing.has(key) && inserted.has(key)));
  await reopenEvents(
    trx,
    [...closing.values()].filter((t) => inserted.has(orgKey(t.orgId, t.fingerprint)) && !closedAtInsert.has(orgKey(t.orgId, t.fingerprint))),
  );
  const closeTransitions = createdPlan.told
    .filter((t) => closedAtInsert.has(orgKey(t.orgId, t.fingerprint)))
    .map((t): TransitionRow => ({ org_id: t.orgId, fingerprint: t.fingerprint, at: now, from_state: 'firing', to_state: 'resolved', reason: eventCloseReason(t.silenced), value: rows.get(orgKey(t.orgId, t.fingerprint))?.value ?? null }));
  await insertTransitions(trx, [...transitions.map((t) => t.row), ...closeTransitions]);
  const changedGroups = groupsChangedBy(changedInstances);
  const plans = [{ ...createdPlan, told: createdPlan.told.filter((t) => !closedAtInsert.has(orgKey(t.orgId, t.fingerprint))) }];

  const others = [...groups.entries()].filter(([key]) => !created.has(key));
  if (others.length > 0) {
    const locked = await lockGroups(
      trx,
      others.map(([, g]) => ({ orgId: g.org_id, groupKey: g.group_key })),
    );
    const toDecide = others.flatMap(([key, g]) => {
      const row = locked.get(key);
      if (!row) return [];
      const due = row.wake_at !== null && row.wake_at <= now;
      const rerouted = !sameRouting(row.routing, g.routing);
      return changedGroups.has(key) || due || rerouted ? [{ ...row, routing: g.routing }] : [];
    });
    if (toDecide.length > 0) {
      const membersOf = await selectMembersOfGroups(
        trx,
        toDecide.map((g) => ({ orgId: g.org_id, groupKey: g.group_key, announced: groupStateOf(g).announced })),
      );
      const plan = planGroups(toDecide, membersOf, await suppressionsOf(toDecide.map((g) => g.org_id)), now);
      await updateGroups(trx, plan.updates);
      plans.push(plan);
    }
  }
  await queueDecided(trx, plans, now, options);
}

/** An event instance as `closeEvents` leaves it: resolved now (told, or silenced), its firing facts kept. */
const closedEvent = (row: NewInstanceRow, now: Date): NewInstanceRow => ({ ...row, state: 'resolved', resolved_at: now, clear_since: null });

const idleUpdate: Omit<GroupUpdate, 'routing'> = { firstActiveAt: null, lastNotifiedAt: null, announced: [], wakeAt: null };

/** A group that does not exist yet, as the store would read it back. */
const idleGroup = (r: ConditionReport, groupKey: string, now: Date): GroupRow => ({
  org_id: r.orgId,
  group_key: groupKey,
  source: r.source,
  rule_id: r.ruleId,
  first_active_at: null,
  last_notified_at: null,
  announced: [],
  wake_at: null,
  routing: storedRouting(r.routing),
  updated_at: now,
});

const groupStateOf = (row: GroupRow): GroupState =>
  row.last_notified_at === null && row.first_active_at === null && row.announced.length === 0
    ? IDLE_GROUP
    : { firstActiveAt: ms(row.first_active_at), lastNotifiedAt: ms(row.last_notified_at), announced: [...row.announced] };

function memberOf(row: InstanceRow, silences: readonly Silence[], now: number): GroupMember {
  const firing = row.state === 'firing';
  // A member's episode starts when it fired, or now if its event time lies ahead of the wall clock.
  const since = firing ? Math.min(ms(row.firing_since) ?? now, now) : (ms(row.resolved_at) ?? row.updated_at.getTime());
  const silenced = firing && (row.acknowledged_at !== null || silencesFor(row.labels, silences, now).length > 0);
  return { fingerprint: row.fingerprint, state: firing ? 'firing' : 'resolved', since, silenced };
}

const notifiedOf = (row: InstanceRow, now: number): NotifiedInstance => ({
  fingerprint: row.fingerprint,
  labels: row.labels,
  state: row.state === 'firing' ? 'firing' : 'resolved',
  summary: row.summary,
  kind: row.kind,
  value: row.value,
  threshold: row.threshold,
  since: row.state === 'firing' ? (ms(row.firing_since) ?? now) : (ms(row.resolved_at) ?? now),
  link: row.link,
  details: row.details,
});

/**
 * What deciding groups gives: their new state, and the notifications due (built into alert records
 * and requests by `noticesOf` only for the groups whose decision is kept).
 */
interface Plan {
  updates: (GroupUpdate & { orgId: string; groupKey: string })[];
  due: { group: GroupRow; rows: readonly InstanceRow[]; notification: GroupNotification }[];
  /** Event groups: the members to close (told by the notification, or silenced). */
  told: { orgId: string; groupKey: string; fingerprint: string; silenced: boolean }[];
}

/** The part of a plan about these groups (by `orgKey`). */
const onlyGroups = (plan: Plan, keys: ReadonlySet<string>): Plan => ({
  updates: plan.updates.filter((u) => keys.has(orgKey(u.orgId, u.groupKey))),
  due: plan.due.filter((d) => keys.has(orgKey(d.group.org_id, d.group.group_key))),
  told: plan.told.filter((t) => keys.has(orgKey(t.orgId, t.groupKey))),
});

/**
 * Decides groups (of one or many organisations) at `now` from their members (by `orgKey(org,
 * group key)`, fingerprint order: those firing and those the group announced): their new state
 * and wake time, and the notification of each that is due. Pure: the caller stores it.
 */
function planGroups(groups: readonly GroupRow[], membersOf: ReadonlyMap<string, InstanceRow[]>, suppressionsOf: ReadonlyMap<string, Suppressions>, now: Date): Plan {
  const nowMs = now.getTime();
  const silencesOf = new Map([...suppressionsOf].map(([orgId, s]) => [orgId, activeSilences(s, nowMs)]));
  const plan: Plan = { updates: [], due: [], told: [] };

  for (const group of groups) {
    const orgId = group.org_id;
    const suppressions = suppressionsOf.get(orgId) ?? { silences: [], windows: [] };
    const silences = silencesOf.get(orgId) ?? [];
    const rows = membersOf.get(orgKey(orgId, group.group_key)) ?? [];
    const prev = groupStateOf(group);
    const members = rows.map((r) => memberOf(r, silences, nowMs));
    const decision = decideGroup(prev, members, nowMs, timingOf(group.routing));

    // A silence that ends while a member it hides still fires: wake then, the member may be news.
    // A mute window that opens or closes over a firing member: wake then too (open windows are among
    // the silences above; a window not open yet will hide the member when it opens).
    const firingRows = rows.filter((r) => r.state === 'firing');
    const silenceEnds = firingRows.flatMap((r) => silencesFor(r.labels, silences, nowMs).map((s) => s.endsAt)).filter((t) => t > nowMs);
    const windowBoundaries = suppressions.windows
      .filter((w) => firingRows.some((r) => muteMatches(w, r.labels)))
      .map((w) => nextBoundary(w, nowMs))
      .filter((t): t is number => t !== null && t > nowMs);
    const wakes = [decision.wakeAt, ...silenceEnds, ...windowBoundaries].filter((t): t is number => t !== null && Number.isFinite(t));
    const wakeAt = wakes.length ? Math.min(...wakes) : null;

    plan.updates.push({
      orgId,
      groupKey: group.group_key,
      firstActiveAt: date(decision.state.firstActiveAt),
      lastNotifiedAt: date(decision.state.lastNotifiedAt),
      announced: decision.state.announced,
      wakeAt: date(wakeAt),
      routing: group.routing,
    });
    const notified = new Set(decision.notify?.firing ?? []);
    for (const fingerprint of decision.told ?? []) plan.told.push({ orgId, groupKey: group.group_key, fingerprint, silenced: !notified.has(fingerprint) });
    if (decision.notify) plan.due.push({ group, rows, notification: decision.notify });
  }
  return plan;
}

/** The alert record and notification of each group notified. */
function noticesOf(due: Plan['due'], now: Date, options: ManagerOptions): AlertNotice[] {
  const nowMs = now.getTime();
  return due.map(({ group, rows, notification }) => {
    const orgId = group.org_id;
    const first = rows[0];
    const message = buildGroupMessage({
      source: group.source as AlertSource,
      ruleId: group.rule_id,
      ruleName: first?.rule_name ?? group.rule_id,
      groupKey: group.group_key,
      notification,
      instances: new Map(rows.map((r) => [r.fingerprint, notifiedOf(r, nowMs)])),
      baseUrl: options.baseUrl ?? '',
    });
    const id = newId();
    const record: AlertRecord = {
      id,
      orgId,
      source: group.source,
      subjectId: group.rule_id,
      kind: message.kind,
      idempotencyKey: `group:${group.group_key}:${nowMs}`,
      title: message.title,
      message: message.message,
      details: message.alert.details,
      at: now,
    };
    const alert: NotifiedAlert = { id, ...message.alert, created_at: now.toISOString() };
    return { record, type: message.type, alert, channels: group.routing.channels };
  });
}

/**
 * Closes the events told (or silenced) by decided groups, in the same transaction as the digest
 * that told them; records their alerts in one INSERT … ON CONFLICT DO NOTHING (a redelivery records
 * nothing, so queues nothing) and queues their notifications in one insert. Returns how many notified.
 */
async function queueDecided(trx: Db, plans: readonly Plan[], now: Date, options: ManagerOptions): Promise<number> {
  await closeEvents(
    trx,
    plans.flatMap((p) => p.told),
    now,
  );
  const notices = noticesOf(
    plans.flatMap((p) => p.due),
    now,
    options,
  );
  // Already recorded for this instant (a redelivery): never sent twice.
  return (await recordAlerts(trx, notices)).size;
}

/**
 * Decides locked groups (of one or many organisations) at `now`, stores their state and wake
 * times, and queues the notifications that are due, with a constant number of statements however
 * many groups: their members in one query, the decisions in memory (grouping.ts), the group
 * updates in one statement, the alert records in one INSERT … ON CONFLICT DO NOTHING and their
 * notifications in one insert. Returns how many notified.
 */
export async function decideGroups(trx: Db, groups: readonly GroupRow[], suppressionsOf: ReadonlyMap<string, Suppressions>, now: Date, options: ManagerOptions): Promise<number> {
  if (groups.length === 0) return 0;
  const membersOf = await selectMembersOfGroups(
    trx,
    groups.map((g) => ({ orgId: g.org_id, groupKey: g.group_key, announced: groupStateOf(g).announced })),
  );
  const plan = planGroups(groups, membersOf, suppressionsOf, now);
  await updateGroups(trx, plan.updates);
  return queueDecided(trx, [plan], now, options);
}

/**
 * A rule's (or check's) routing changed (channels, timers): its groups use the new one from now
 * on, and those already notified are re-decided at the next flush (a shorter repeat interval may
 * be due already). Group-by changes take effect with the next reports.
 */
export async function rerouteRule(trx: Db, orgId: string, source: AlertSource, ruleId: string, routing: Routing, now: Date): Promise<void> {
  await rerouteGroups(trx, orgId, source, ruleId, storedRouting(routing), now);
}

/**
 * A rule (or check) is deleted or disabled: its firing instances resolve and its pending ones end,
 * each with a transition giving `reason`, and its groups are decided at once (the resolve of what
 * was announced is sent, after the group interval as any resolve). In the caller's transaction.
 */
export async function retireRule(trx: Db, orgId: string, source: AlertSource, ruleId: string, reason: string, now: Date, options: ManagerOptions = {}): Promise<void> {
  const active = await lockActiveInstancesOfRule(trx, orgId, source, ruleId);
  if (active.length === 0) return;
  await endInstances(trx, orgId, active, now);
  await insertTransitions(
    trx,
    active.map((r) => ({ org_id: orgId, fingerprint: r.fingerprint, at: now, from_state: r.state, to_state: r.state === 'firing' ? 'resolved' : 'inactive', reason, value: r.value })),
  );
  const keys = [...new Set(active.map((r) => r.group_key))];
  const groups = await lockGroupsByKey(trx, orgId, keys);
  const suppressions = await loadSuppressions(trx, orgId, now);
  await decideGroups(trx, groups, new Map([[orgId, suppressions]]), now, options);
}

/** Firing and pending instances per rule of a source: what a rule list shows beside each rule. */
export async function activeCountsByRule(db: Db, orgId: string, source: AlertSource): Promise<Map<string, { firing: number; pending: number }>> {
  const counts = new Map<string, { firing: number; pending: number }>();
  for (const row of await countActiveByRule(db, orgId, source)) {
    const entry = counts.get(row.rule_id) ?? { firing: 0, pending: 0 };
    if (row.state === 'firing') entry.firing = Number(row.n);
    else entry.pending = Number(row.n);
    counts.set(row.rule_id, entry);
  }
  return counts;
}
