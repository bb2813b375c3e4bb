/**
 * When a group of alert instances is notified, as a pure function (Alertmanager's aggregation
 * group: group wait, group interval, repeat interval), with its timer pitfalls designed away:
 *
 * - No timer lives in memory: every due time is computed from the group's stored state
 *   (`firstActiveAt`, `lastNotifiedAt`, what the last notification said) and `now`. A restart, or an
 *   evaluator catching up on event time it missed, asks the same question and gets the same answer:
 *   nothing re-sent, nothing lost, no group wait restarted from zero.
 * - Only final states are notified: an instance that fired and resolved before the group was due is
 *   never announced (neither its firing nor its resolve); a resolve is sent only for an instance
 *   whose firing was announced, and it is always sent (a resolve is never lost because the group
 *   emptied).
 * - One notification per group per due time, carrying every firing and resolved member: a burst of
 *   twenty instances is one notification, not twenty.
 * - Silenced members are left out of what is sent (and their resolve is still sent if their
 *   firing was announced before the silence), so a silence never hides the end of an incident.
 * - Groups of events (`timing.events`: fraud matches) have no incident to end: each firing member
 *   is told once and then closed (`told`, which the manager resolves in the same transaction,
 *   silently), so a digest names only what is new since the last one, nothing is repeated or
 *   resolved by notification, and a group's live members stay bounded however long it lives. The
 *   group interval still spaces its digests; after a group interval with nothing new, the next
 *   event starts a new episode (group wait, to collect its burst). A silenced event is closed
 *   without being told: the silence meant "not these".
 *
 * The manager stores the returned state in the same transaction as the notification it queues.
 */

export interface GroupTiming {
  /** How long a new group waits for more members before its first notification. */
  groupWaitMs: number;
  /** Least time between two notifications of a group whose members changed. */
  groupIntervalMs: number;
  /** How often an unchanged, still-firing group is notified again (a reminder). */
  repeatIntervalMs: number;
  /** Members are events, told once and then closed (see the top of this file); absent = false. */
  events?: boolean;
}

export interface GroupMember {
  fingerprint: string;
  state: 'firing' | 'resolved';
  /** Since when the member is in that state. */
  since: number;
  /** Matched by a silence (or a mute window) now. */
  silenced: boolean;
}

export interface GroupState {
  /** When the group's current episode began (its first firing member), null when the group is idle. */
  firstActiveAt: number | null;
  /** When the group was last notified, null before its first notification of the episode. */
  lastNotifiedAt: number | null;
  /** The fingerprints the last notification announced as firing (their resolve is owed). */
  announced: string[];
}

export const IDLE_GROUP: GroupState = { firstActiveAt: null, lastNotifiedAt: null, announced: [] };

export interface GroupNotification {
  firing: string[];
  resolved: string[];
  /** 'first' (after group wait), 'update' (members changed), 'repeat' (unchanged, still firing). */
  kind: 'first' | 'update' | 'repeat';
}

export interface GroupDecision {
  state: GroupState;
  /** What to send now, if anything. */
  notify?: GroupNotification;
  /** When to ask again (the next due time), null when nothing is pending. */
  wakeAt: number | null;
  /** Event groups: the firing members to close now (told by this notification, or silenced). */
  told?: string[];
}

/** Decides whether the group is due at `now`, and what its notification says. */
export function decideGroup(prev: GroupState, members: readonly GroupMember[], now: number, timing: GroupTiming): GroupDecision {
  if (timing.events) return decideEvents(prev, members, now, timing);
  const firingNow = members.filter((m) => m.state === 'firing');
  const firing = firingNow.filter((m) => !m.silenced).map((m) => m.fingerprint).sort();
  const stillFiring = new Set(firingNow.map((m) => m.fingerprint));
  // A resolve is owed for every announced member that no longer fires, silenced or not.
  const resolved = prev.announced.filter((f) => !stillFiring.has(f)).sort();
  // Announced members silenced since: not repeated, but kept so that their resolve is still sent.
  const firingSet = new Set(firing);
  const carried = prev.announced.filter((f) => stillFiring.has(f) && !firingSet.has(f));
  const announced = [...firing, ...carried].sort();

  if (prev.lastNotifiedAt === null) {
    if (firing.length === 0) return { state: IDLE_GROUP, wakeAt: null };
    const firstActiveAt = prev.firstActiveAt ?? earliestSince(firingNow.filter((m) => !m.silenced));
    const due = firstActiveAt + timing.groupWaitMs;
    if (now < due) return { state: { ...prev, firstActiveAt }, wakeAt: due };
    return sent({ firstActiveAt, lastNotifiedAt: now, announced }, { firing, resolved: [], kind: 'first' }, now, timing);
  }

  // Worth telling: a member that fires and was not announced, or an announced one that stopped.
  const wasAnnounced = new Set(prev.announced);
  const changed = resolved.length > 0 || firing.some((f) => !wasAnnounced.has(f));
  if (changed) {
    const due = prev.lastNotifiedAt + timing.groupIntervalMs;
    if (now < due) return { state: prev, wakeAt: due };
    return sent({ ...prev, lastNotifiedAt: now, announced }, { firing, resolved, kind: 'update' }, now, timing);
  }
  if (firing.length === 0) return { state: announced.length ? { ...prev, announced } : IDLE_GROUP, wakeAt: null };
  const due = prev.lastNotifiedAt + timing.repeatIntervalMs;
  if (now < due) return { state: prev, wakeAt: due };
  return sent({ ...prev, lastNotifiedAt: now, announced }, { firing, resolved: [], kind: 'repeat' }, now, timing);
}

/**
 * The earliest `since` of members (at least one). A loop, not Math.min(...spread): a fraud burst
 * gives one group 100,000 members, beyond what a call's arguments can hold (RangeError).
 */
function earliestSince(members: readonly GroupMember[]): number {
  let earliest = Infinity;
  for (const m of members) if (m.since < earliest) earliest = m.since;
  return earliest;
}

function sent(state: GroupState, notify: GroupNotification, now: number, timing: GroupTiming): GroupDecision {
  // Nothing announced any more: the episode is over, and the next firing starts a new one (group wait again).
  if (state.announced.length === 0) return { state: IDLE_GROUP, notify, wakeAt: null };
  if (notify.firing.length === 0) return { state, notify, wakeAt: null };
  return { state, notify, wakeAt: now + timing.repeatIntervalMs };
}

/** `decideGroup` for a group of events: every firing member is news, told once, then closed. */
function decideEvents(prev: GroupState, members: readonly GroupMember[], now: number, timing: GroupTiming): GroupDecision {
  const firing = members.filter((m) => m.state === 'firing');
  const news = firing.filter((m) => !m.silenced);
  // A silenced event is closed as soon as the group looks at it; only the unsilenced are waited for.
  const silenced = firing.filter((m) => m.silenced).map((m) => m.fingerprint).sort();
  const state: GroupState = { ...prev, announced: [] };
  if (news.length === 0) return { state, wakeAt: null, ...(silenced.length ? { told: silenced } : {}) };
  const earliest = earliestSince(news);
  const quietFrom = prev.lastNotifiedAt === null ? null : prev.lastNotifiedAt + timing.groupIntervalMs;
  let due: number;
  let kind: GroupNotification['kind'];
  if (quietFrom === null || earliest >= quietFrom) {
    // A new episode (the first, or after a group interval with nothing new): wait for its burst,
    // from the first event of the episode (kept, so a restart does not restart the wait).
    const firstActiveAt = prev.firstActiveAt !== null && (quietFrom === null || prev.firstActiveAt >= quietFrom) ? prev.firstActiveAt : earliest;
    due = firstActiveAt + timing.groupWaitMs;
    kind = 'first';
    state.firstActiveAt = firstActiveAt;
  } else {
    due = quietFrom;
    kind = 'update';
  }
  if (now < due) return { state, wakeAt: due, ...(silenced.length ? { told: silenced } : {}) };
  const told = news.map((m) => m.fingerprint).sort();
  return { state: { ...state, lastNotifiedAt: now }, notify: { firing: told, resolved: [], kind }, wakeAt: null, told: [...told, ...silenced].sort() };
}
