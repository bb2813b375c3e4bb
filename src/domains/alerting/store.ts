import { sql, type Selectable } from 'kysely';
import type { AlertInstanceState } from '../../contracts/alerting.js';
import { bulkRows, type BulkShape, type Db } from '../../platform/store/index.js';
import { alertingDb, type AlertGroupsTable, type AlertInstancesTable, type MuteWindowsTable, type SilencesTable, type StoredRouting } from './tables.js';
import type { Matcher } from './silences.js';
import type { MuteKind } from './mutes.js';

/**
 * All SQL of the alert manager (instances, transitions, groups, silences, notification records).
 * Every function takes the connection or the caller's transaction, so the manager's writes join
 * the transaction of the source that reported.
 */

export type InstanceRow = Selectable<AlertInstancesTable>;
export type GroupRow = Selectable<AlertGroupsTable>;
export type SilenceRow = Selectable<SilencesTable>;
export type MuteWindowRow = Selectable<MuteWindowsTable>;

/** How a row of one organisation is found in the maps below: organisation id and key (a uuid has no space). */
export const orgKey = (orgId: string, key: string): string => `${orgId} ${key}`;

/** An instance row as the manager computes it (everything but `updated_at`, which the store sets). */
export type NewInstanceRow = Omit<InstanceRow, 'updated_at'>;

/** A number as the bulk rows carry it: as text, so that Infinity and NaN (which JSON lacks) survive the trip. */
const numberText = (n: number | null | undefined): string | null => (n === null || n === undefined ? null : String(n));

const instanceRows = (rows: readonly NewInstanceRow[]) => rows.map((r) => ({ ...r, value: numberText(r.value), threshold: numberText(r.threshold) }));

// Instance rows travel in bulk (bulkRows: COPY, or one jsonb array on the embedded store); these are its columns.
const INSTANCE_SHAPE: BulkShape = {
  name: 'alert_instances',
  columns: [
    ['org_id', 'uuid'],
    ['fingerprint', 'text'],
    ['source', 'text'],
    ['rule_id', 'text'],
    ['rule_name', 'text'],
    ['labels', 'jsonb'],
    ['severity', 'text'],
    ['summary', 'text'],
    ['kind', 'text'],
    ['state', 'text'],
    ['active_since', 'timestamptz'],
    ['firing_since', 'timestamptz'],
    ['clear_since', 'timestamptz'],
    ['resolved_at', 'timestamptz'],
    ['value', 'text'],
    ['threshold', 'text'],
    ['acknowledged_at', 'timestamptz'],
    ['acknowledged_by', 'text'],
    ['group_key', 'text'],
    ['link', 'text'],
    ['details', 'jsonb'],
  ],
};
const INSTANCE_COLUMNS = sql`org_id, fingerprint, source, rule_id, rule_name, labels, severity, summary, kind, state, active_since, firing_since, clear_since,
      resolved_at, value, threshold, acknowledged_at, acknowledged_by, group_key, link, details, updated_at`;
const INSTANCE_VALUES = sql`v.org_id, v.fingerprint, v.source, v.rule_id, v.rule_name, v.labels, v.severity, v.summary, v.kind, v.state, v.active_since, v.firing_since,
      v.clear_since, v.resolved_at, v.value::double precision, v.threshold::double precision, v.acknowledged_at, v.acknowledged_by, v.group_key, v.link, v.details, clock_timestamp()`;

/**
 * Inserts the rows of instances that do not exist yet, in their final state, in (organisation,
 * fingerprint) order, and returns the keys (`orgKey`) of those inserted. A row inserted here is
 * ours until the transaction ends (another reporter of the same new instance waits on it at its
 * own insert, then finds it existing), so it needs neither a placeholder nor a lock; the rows that
 * already existed are left as they were, for the caller to lock (`lockInstances`) and update.
 */
export async function insertNewInstances(trx: Db, rows: readonly NewInstanceRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const { rows: inserted } = await sql<{ org_id: string; fingerprint: string }>`
    INSERT INTO alert_instances (${INSTANCE_COLUMNS})
    SELECT ${INSTANCE_VALUES}
    FROM ${await bulkRows(trx, INSTANCE_SHAPE, instanceRows(rows))}
    ORDER BY v.org_id, v.fingerprint
    ON CONFLICT (org_id, fingerprint) DO NOTHING
    RETURNING org_id, fingerprint`.execute(trx);
  return new Set(inserted.map((r) => orgKey(r.org_id, r.fingerprint)));
}

/**
 * The existing instances of these keys (of one or many organisations), locked until the
 * transaction ends, in (organisation, fingerprint) order: no deadlock between reporters. Keyed by
 * `orgKey(org, fingerprint)`.
 */
export async function lockInstances(trx: Db, keys: readonly { orgId: string; fingerprint: string }[]): Promise<Map<string, InstanceRow>> {
  if (keys.length === 0) return new Map();
  const rows = await alertingDb(trx)
    .selectFrom('alert_instances')
    .selectAll()
    .where(
      sql<boolean>`(org_id, fingerprint) IN (SELECT * FROM unnest(${keys.map((k) => k.orgId)}::uuid[], ${keys.map((k) => k.fingerprint)}::text[]))`,
    )
    .orderBy('org_id')
    .orderBy('fingerprint')
    .forUpdate()
    .execute();
  return new Map(rows.map((r) => [orgKey(r.org_id, r.fingerprint), r]));
}

export async function lockInstance(trx: Db, orgId: string, fingerprint: string): Promise<InstanceRow | undefined> {
  return alertingDb(trx).selectFrom('alert_instances').selectAll().where('org_id', '=', orgId).where('fingerprint', '=', fingerprint).forUpdate().executeTakeFirst();
}

/** Writes the new state of existing, locked instance rows (one per fingerprint) in one statement. */
export async function updateInstances(trx: Db, rows: readonly NewInstanceRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    INSERT INTO alert_instances (${INSTANCE_COLUMNS})
    SELECT ${INSTANCE_VALUES}
    FROM ${await bulkRows(trx, INSTANCE_SHAPE, instanceRows(rows))}
    ON CONFLICT (org_id, fingerprint) DO UPDATE SET
      rule_name = excluded.rule_name, labels = excluded.labels, severity = excluded.severity, summary = excluded.summary, kind = excluded.kind,
      state = excluded.state, active_since = excluded.active_since, firing_since = excluded.firing_since, clear_since = excluded.clear_since,
      resolved_at = excluded.resolved_at, value = excluded.value, threshold = excluded.threshold, acknowledged_at = excluded.acknowledged_at,
      acknowledged_by = excluded.acknowledged_by, group_key = excluded.group_key, link = excluded.link, details = excluded.details,
      -- Last change of state (what dashboards are pushed), not of value: a rule re-evaluated every
      -- second does not flood them.
      updated_at = CASE WHEN alert_instances.state IS DISTINCT FROM excluded.state THEN excluded.updated_at ELSE alert_instances.updated_at END`.execute(trx);
}

export interface TransitionRow {
  org_id: string;
  fingerprint: string;
  at: Date;
  from_state: string;
  to_state: string;
  reason: string;
  value: number | null;
}

const TRANSITION_SHAPE: BulkShape = {
  name: 'alert_transitions',
  columns: [
    ['org_id', 'uuid'],
    ['fingerprint', 'text'],
    ['at', 'timestamptz'],
    ['from_state', 'text'],
    ['to_state', 'text'],
    ['reason', 'text'],
    ['value', 'text'],
    ['n', 'integer'],
  ],
};

export async function insertTransitions(trx: Db, rows: readonly TransitionRow[]): Promise<void> {
  if (rows.length === 0) return;
  const v = await bulkRows(
    trx,
    TRANSITION_SHAPE,
    rows.map((r, n) => ({ ...r, value: numberText(r.value), n })),
  );
  // In the given order (ORDER BY the position): ids follow the order of the transitions.
  await sql`
    INSERT INTO alert_transitions (org_id, fingerprint, at, from_state, to_state, reason, value)
    SELECT v.org_id, v.fingerprint, v.at, v.from_state, v.to_state, v.reason, v.value::double precision
    FROM ${v}
    ORDER BY v.n`.execute(trx);
}

export async function selectTransitions(db: Db, orgId: string, fingerprint: string, limit: number) {
  return alertingDb(db)
    .selectFrom('alert_transitions')
    .select(['at', 'from_state', 'to_state', 'reason', 'value'])
    .where('org_id', '=', orgId)
    .where('fingerprint', '=', fingerprint)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** A group as the manager inserts it: new, in its decided state. */
export interface NewGroup extends GroupUpdate {
  orgId: string;
  groupKey: string;
  source: string;
  ruleId: string;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

const GROUP_STATE: BulkShape['columns'] = [
  ['org_id', 'uuid'],
  ['group_key', 'text'],
  ['first_active_at', 'timestamptz'],
  ['last_notified_at', 'timestamptz'],
  ['announced', 'text[]'],
  ['wake_at', 'timestamptz'],
  ['routing', 'jsonb'],
];
const NEW_GROUP_SHAPE: BulkShape = { name: 'new_alert_groups', columns: [...GROUP_STATE, ['source', 'text'], ['rule_id', 'text']] };
const GROUP_UPDATE_SHAPE: BulkShape = { name: 'alert_group_updates', columns: GROUP_STATE };

/**
 * Inserts the groups that do not exist yet, in their decided state, in (organisation, key) order,
 * and returns the keys (`orgKey`) of those inserted: as for instances, a group inserted here is
 * ours until the transaction ends, and those that existed are left for `lockGroups`.
 */
export async function insertNewGroups(trx: Db, groups: readonly NewGroup[]): Promise<Set<string>> {
  if (groups.length === 0) return new Set();
  const rows = groups.map((g) => ({
    org_id: g.orgId,
    group_key: g.groupKey,
    source: g.source,
    rule_id: g.ruleId,
    first_active_at: iso(g.firstActiveAt),
    last_notified_at: iso(g.lastNotifiedAt),
    announced: g.announced,
    wake_at: iso(g.wakeAt),
    routing: g.routing,
  }));
  const v = await bulkRows(trx, NEW_GROUP_SHAPE, rows);
  const { rows: inserted } = await sql<{ org_id: string; group_key: string }>`
    INSERT INTO alert_groups (org_id, group_key, source, rule_id, first_active_at, last_notified_at, announced, wake_at, routing, updated_at)
    SELECT v.org_id, v.group_key, v.source, v.rule_id, v.first_active_at, v.last_notified_at, v.announced, v.wake_at, v.routing, now()
    FROM ${v}
    ORDER BY v.org_id, v.group_key
    ON CONFLICT (org_id, group_key) DO NOTHING
    RETURNING org_id, group_key`.execute(trx);
  return new Set(inserted.map((r) => orgKey(r.org_id, r.group_key)));
}

/** The existing groups of these keys (of one or many organisations), locked in (organisation, key) order. Keyed by `orgKey(org, group key)`. */
export async function lockGroups(trx: Db, keys: readonly { orgId: string; groupKey: string }[]): Promise<Map<string, GroupRow>> {
  if (keys.length === 0) return new Map();
  const rows = await alertingDb(trx)
    .selectFrom('alert_groups')
    .selectAll()
    .where(sql<boolean>`(org_id, group_key) IN (SELECT * FROM unnest(${keys.map((k) => k.orgId)}::uuid[], ${keys.map((k) => k.groupKey)}::text[]))`)
    .orderBy('org_id')
    .orderBy('group_key')
    .forUpdate()
    .execute();
  return new Map(rows.map((r) => [orgKey(r.org_id, r.group_key), r]));
}

/**
 * Which of these groups exist (keyed by `orgKey(org, group key)`), without locking them: what the
 * manager needs to know before it inserts instances (instances are locked before groups). Groups
 * are never deleted, so one seen existing stays so; one not seen may still be created by another
 * reporter before ours is inserted.
 */
export async function selectExistingGroups(db: Db, keys: readonly { orgId: string; groupKey: string }[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await alertingDb(db)
    .selectFrom('alert_groups')
    .select(['org_id', 'group_key'])
    .where(sql<boolean>`(org_id, group_key) IN (SELECT * FROM unnest(${keys.map((k) => k.orgId)}::uuid[], ${keys.map((k) => k.groupKey)}::text[]))`)
    .execute();
  return new Set(rows.map((r) => orgKey(r.org_id, r.group_key)));
}

export interface GroupUpdate {
  firstActiveAt: Date | null;
  lastNotifiedAt: Date | null;
  announced: string[];
  wakeAt: Date | null;
  routing: StoredRouting;
}

/**
 * Writes the decided state of many groups (of one or many organisations) in one statement (the
 * rows travel as one jsonb array: one parameter however many groups, on both stores).
 */
export async function updateGroups(trx: Db, updates: readonly (GroupUpdate & { orgId: string; groupKey: string })[]): Promise<void> {
  if (updates.length === 0) return;
  const rows = updates.map((u) => ({
    org_id: u.orgId,
    group_key: u.groupKey,
    first_active_at: iso(u.firstActiveAt),
    last_notified_at: iso(u.lastNotifiedAt),
    announced: u.announced,
    wake_at: iso(u.wakeAt),
    routing: u.routing,
  }));
  const v = await bulkRows(trx, GROUP_UPDATE_SHAPE, rows);
  await sql`
    UPDATE alert_groups AS g
    SET first_active_at = v.first_active_at, last_notified_at = v.last_notified_at, announced = v.announced, wake_at = v.wake_at, routing = v.routing, updated_at = now()
    FROM ${v}
    WHERE g.org_id = v.org_id AND g.group_key = v.group_key`.execute(trx);
}

/**
 * The members the decisions of these groups (of one or many organisations) need, by
 * `orgKey(org, group key)` (fingerprint order): those firing now and those whose resolve may be
 * owed (announced by their group). One query for all groups.
 */
export async function selectMembersOfGroups(
  db: Db,
  groups: readonly { orgId: string; groupKey: string; announced: readonly string[] }[],
): Promise<Map<string, InstanceRow[]>> {
  const byGroup = new Map<string, InstanceRow[]>(groups.map((g) => [orgKey(g.orgId, g.groupKey), []]));
  if (groups.length === 0) return byGroup;
  const announcedIn = new Map(groups.map((g) => [orgKey(g.orgId, g.groupKey), new Set(g.announced)]));
  const announced = [...new Set(groups.flatMap((g) => g.announced))];
  const keys = JSON.stringify(groups.map((g) => ({ org_id: g.orgId, group_key: g.groupKey })));
  const rows = await alertingDb(db)
    .selectFrom('alert_instances')
    .selectAll()
    .where(sql<boolean>`(org_id, group_key) IN (SELECT k.org_id, k.group_key FROM jsonb_to_recordset(${keys}::jsonb) AS k(org_id uuid, group_key text))`)
    .where((eb) => (announced.length ? eb.or([eb('state', '=', 'firing'), sql<boolean>`fingerprint = ANY(${announced}::text[])`]) : eb('state', '=', 'firing')))
    .orderBy('org_id')
    .orderBy('group_key')
    .orderBy('fingerprint')
    .execute();
  // A fingerprint announced by one group may be a resolved member of another now: each group keeps
  // only its firing members and those it announced itself.
  for (const r of rows) {
    const key = orgKey(r.org_id, r.group_key);
    if (r.state === 'firing' || announcedIn.get(key)?.has(r.fingerprint)) byGroup.get(key)?.push(r);
  }
  return byGroup;
}

/** Keys of groups whose wake time has passed (not locked: each is claimed in its own transaction). */
export async function selectDueGroups(db: Db, now: Date, limit: number): Promise<{ org_id: string; group_key: string }[]> {
  return alertingDb(db).selectFrom('alert_groups').select(['org_id', 'group_key']).where('wake_at', '<=', now).orderBy('wake_at').limit(limit).execute();
}

/**
 * Locks the due groups of one organisation among `keys` (key order), leaving out those another
 * worker holds (SKIP LOCKED) and those no longer due.
 */
export async function claimDueGroups(trx: Db, orgId: string, keys: readonly string[], now: Date): Promise<GroupRow[]> {
  if (keys.length === 0) return [];
  return alertingDb(trx)
    .selectFrom('alert_groups')
    .selectAll()
    .where('org_id', '=', orgId)
    .where(sql<boolean>`group_key = ANY(${[...keys]}::text[])`)
    .where('wake_at', '<=', now)
    .orderBy('group_key')
    .forUpdate()
    .skipLocked()
    .execute();
}

/** Wakes the groups of an organisation that have a firing member (a silence ended: they may owe news). */
export async function wakeFiringGroups(db: Db, orgId: string, now: Date): Promise<void> {
  await alertingDb(db)
    .updateTable('alert_groups')
    .set({ wake_at: now })
    .where('org_id', '=', orgId)
    .where((eb) => eb.or([eb('wake_at', 'is', null), eb('wake_at', '>', now)]))
    .where('group_key', 'in', (eb) => eb.selectFrom('alert_instances').select('group_key').where('org_id', '=', orgId).where('state', '=', 'firing'))
    .execute();
}

// --- silences ------------------------------------------------------------------------------------

/** Silences not expired at `at` (active or pending). */
export async function selectLiveSilences(db: Db, orgId: string, at: Date): Promise<SilenceRow[]> {
  return alertingDb(db).selectFrom('silences').selectAll().where('org_id', '=', orgId).where('ends_at', '>', at).orderBy('starts_at').execute();
}

/** Silences not expired at `at` (active or pending) of these organisations. */
export async function selectLiveSilencesOf(db: Db, orgIds: readonly string[], at: Date): Promise<SilenceRow[]> {
  if (orgIds.length === 0) return [];
  return alertingDb(db)
    .selectFrom('silences')
    .selectAll()
    .where(sql<boolean>`org_id = ANY(${[...orgIds]}::uuid[])`)
    .where('ends_at', '>', at)
    .orderBy('starts_at')
    .execute();
}

export async function selectSilences(db: Db, orgId: string, limit: number): Promise<SilenceRow[]> {
  return alertingDb(db).selectFrom('silences').selectAll().where('org_id', '=', orgId).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
}

export async function insertSilence(
  db: Db,
  s: { id: string; orgId: string; matchers: Matcher[]; startsAt: Date; endsAt: Date; comment: string; createdBy: string | null; createdAt: Date },
): Promise<SilenceRow> {
  return alertingDb(db)
    .insertInto('silences')
    .values({ id: s.id, org_id: s.orgId, matchers: JSON.stringify(s.matchers), starts_at: s.startsAt, ends_at: s.endsAt, comment: s.comment, created_by: s.createdBy, created_at: s.createdAt })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Ends a silence at `at` (kept, expired); returns undefined when it does not exist. */
export async function endSilence(db: Db, orgId: string, id: string, at: Date): Promise<SilenceRow | undefined> {
  const db2 = alertingDb(db);
  const row = await db2.selectFrom('silences').selectAll().where('org_id', '=', orgId).where('id', '=', id).forUpdate().executeTakeFirst();
  if (!row) return undefined;
  if (row.ends_at <= at) return row;
  return db2
    .updateTable('silences')
    .set({ ends_at: at, starts_at: row.starts_at > at ? at : row.starts_at })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

// --- mute windows --------------------------------------------------------------------------------

/**
 * The mute windows of these organisations that may still open or be open at `at` (one-off ones
 * not over, every recurring one), optionally of one kind. Read once per decision or sweep.
 */
export async function selectLiveMuteWindows(db: Db, orgIds: readonly string[], at: Date, kind?: 'mute' | 'maintenance'): Promise<MuteWindowRow[]> {
  if (orgIds.length === 0) return [];
  let q = alertingDb(db)
    .selectFrom('mute_windows')
    .selectAll()
    .where('org_id', 'in', [...orgIds])
    .where((eb) => eb.or([eb('cron', 'is not', null), eb('ends_at', '>', at)]));
  if (kind) q = q.where('kind', '=', kind);
  return q.orderBy('created_at').orderBy('id').execute();
}

export async function selectMuteWindows(db: Db, orgId: string, kind?: 'mute' | 'maintenance'): Promise<MuteWindowRow[]> {
  let q = alertingDb(db).selectFrom('mute_windows').selectAll().where('org_id', '=', orgId);
  if (kind) q = q.where('kind', '=', kind);
  return q.orderBy('created_at').orderBy('id').execute();
}

/** A window as the store keeps it, its fields checked (by `muteWindowSpecOf`, or by the jobs' maintenance checks). */
export interface MuteWindowSpec {
  kind: MuteKind;
  name: string;
  reason: string;
  matchers: Matcher[];
  startsAt: Date | null;
  endsAt: Date | null;
  cron: string | null;
  tz: string;
  durationS: number | null;
}

export async function insertMuteWindow(
  db: Db,
  w: MuteWindowSpec & { id: string; orgId: string; createdBy: string | null; createdAt: Date },
): Promise<MuteWindowRow> {
  return alertingDb(db)
    .insertInto('mute_windows')
    .values({
      id: w.id,
      org_id: w.orgId,
      kind: w.kind,
      name: w.name,
      reason: w.reason,
      matchers: JSON.stringify(w.matchers),
      starts_at: w.startsAt,
      ends_at: w.endsAt,
      cron: w.cron,
      tz: w.tz,
      duration_s: w.durationS,
      created_by: w.createdBy,
      created_at: w.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Deletes a window (of `kind` when given); false when there is none. */
export async function deleteMuteWindowRow(db: Db, orgId: string, id: string, kind?: 'mute' | 'maintenance'): Promise<boolean> {
  let q = alertingDb(db).deleteFrom('mute_windows').where('org_id', '=', orgId).where('id', '=', id);
  if (kind) q = q.where('kind', '=', kind);
  const res = await q.executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Deletes the windows of `kind` that have this exact matcher (a deleted check's maintenance windows). */
export async function deleteMuteWindowsWithMatcher(db: Db, orgId: string, kind: 'mute' | 'maintenance', matcher: Matcher): Promise<void> {
  await alertingDb(db)
    .deleteFrom('mute_windows')
    .where('org_id', '=', orgId)
    .where('kind', '=', kind)
    .where(sql<boolean>`matchers @> ${JSON.stringify([matcher])}::jsonb`)
    .execute();
}

// --- instances for the API -------------------------------------------------------------------------

export async function selectInstances(db: Db, orgId: string, q: { state?: AlertInstanceState; source?: string; ruleId?: string; limit: number }): Promise<InstanceRow[]> {
  let query = alertingDb(db).selectFrom('alert_instances').selectAll().where('org_id', '=', orgId);
  query = q.state ? query.where('state', '=', q.state) : query.where('state', '!=', 'inactive');
  if (q.source) query = query.where('source', '=', q.source);
  if (q.ruleId) query = query.where('rule_id', '=', q.ruleId);
  return query.orderBy('updated_at', 'desc').orderBy('fingerprint').limit(q.limit).execute();
}

export async function selectInstance(db: Db, orgId: string, fingerprint: string): Promise<InstanceRow | undefined> {
  return alertingDb(db).selectFrom('alert_instances').selectAll().where('org_id', '=', orgId).where('fingerprint', '=', fingerprint).executeTakeFirst();
}

/** Instances changed since `since` (any organisation), oldest change first: what the live publisher pushes. */
export async function selectChangedInstances(db: Db, since: Date, limit: number): Promise<InstanceRow[]> {
  return alertingDb(db).selectFrom('alert_instances').selectAll().where('updated_at', '>', since).orderBy('updated_at').limit(limit).execute();
}

/** Marks the firing instances of an organisation as changed (a silence now covers some): dashboards refresh them. */
export async function touchFiringInstances(db: Db, orgId: string): Promise<void> {
  await alertingDb(db).updateTable('alert_instances').set({ updated_at: sql<Date>`clock_timestamp()` }).where('org_id', '=', orgId).where('state', '=', 'firing').execute();
}

/** New routing for every group of a rule (or check); groups that were notified are woken to re-decide with it. */
export async function rerouteGroups(trx: Db, orgId: string, source: string, ruleId: string, routing: StoredRouting, now: Date): Promise<void> {
  await alertingDb(trx)
    .updateTable('alert_groups')
    .set((eb) => ({
      routing: JSON.stringify(routing),
      wake_at: eb.case().when('last_notified_at', 'is not', null).then(now).else(eb.ref('wake_at')).end(),
      updated_at: sql<Date>`now()`,
    }))
    .where('org_id', '=', orgId)
    .where('source', '=', source)
    .where('rule_id', '=', ruleId)
    .execute();
}

/** The pending and firing instances of a rule (or check), locked: those a retired rule ends. */
export async function lockActiveInstancesOfRule(trx: Db, orgId: string, source: string, ruleId: string): Promise<InstanceRow[]> {
  return alertingDb(trx)
    .selectFrom('alert_instances')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('source', '=', source)
    .where('rule_id', '=', ruleId)
    .where('state', 'in', ['pending', 'firing'])
    .orderBy('fingerprint')
    .forUpdate()
    .execute();
}

/** Ends instances: firing ones resolve, pending ones go back to inactive (state change: dashboards are told). */
export async function endInstances(trx: Db, orgId: string, rows: readonly InstanceRow[], at: Date): Promise<void> {
  const firing = rows.filter((r) => r.state === 'firing').map((r) => r.fingerprint);
  const pending = rows.filter((r) => r.state === 'pending').map((r) => r.fingerprint);
  const common = { active_since: null, firing_since: null, clear_since: null, acknowledged_at: null, acknowledged_by: null, updated_at: sql<Date>`clock_timestamp()` };
  if (firing.length) {
    await alertingDb(trx)
      .updateTable('alert_instances')
      .set({ ...common, state: 'resolved', resolved_at: at })
      .where('org_id', '=', orgId)
      .where('fingerprint', 'in', firing)
      .execute();
  }
  if (pending.length) {
    await alertingDb(trx).updateTable('alert_instances').set({ ...common, state: 'inactive' }).where('org_id', '=', orgId).where('fingerprint', 'in', pending).execute();
  }
}

/** Pending and firing instances per rule of a source (the rules list shows them). */
export async function countActiveByRule(db: Db, orgId: string, source: string): Promise<{ rule_id: string; state: string; n: number | string | bigint }[]> {
  return alertingDb(db)
    .selectFrom('alert_instances')
    .select(['rule_id', 'state'])
    .select((eb) => eb.fn.countAll().as('n'))
    .where('org_id', '=', orgId)
    .where('source', '=', source)
    .where('state', 'in', ['pending', 'firing'])
    .groupBy(['rule_id', 'state'])
    .execute();
}

/** Existing groups by key, locked (key order). */
export async function lockGroupsByKey(trx: Db, orgId: string, keys: readonly string[]): Promise<GroupRow[]> {
  if (keys.length === 0) return [];
  return alertingDb(trx)
    .selectFrom('alert_groups')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('group_key', 'in', [...keys].sort())
    .orderBy('group_key')
    .forUpdate()
    .execute();
}

/** Why an event instance was closed (its transition's reason). */
export const eventCloseReason = (silenced: boolean): string => (silenced ? 'silenced: closed without being told' : 'told in a digest');

const CLOSED_EVENT_SHAPE: BulkShape = {
  name: 'closed_events',
  columns: [
    ['org_id', 'uuid'],
    ['fingerprint', 'text'],
    ['reason', 'text'],
  ],
};

/**
 * Closes event instances (Routing.events) once told or silenced: resolved now, each with its
 * transition, in one statement per table whatever their number. Only those still firing (a
 * redelivery closes nothing twice).
 */
export async function closeEvents(trx: Db, events: readonly { orgId: string; fingerprint: string; silenced: boolean }[], at: Date): Promise<void> {
  if (events.length === 0) return;
  const v = await bulkRows(
    trx,
    CLOSED_EVENT_SHAPE,
    events.map((e) => ({ org_id: e.orgId, fingerprint: e.fingerprint, reason: eventCloseReason(e.silenced) })),
  );
  await sql`
    WITH closed AS (
      UPDATE alert_instances i SET state = 'resolved', resolved_at = ${at}, clear_since = NULL, updated_at = clock_timestamp()
      FROM ${v}
      WHERE i.org_id = v.org_id AND i.fingerprint = v.fingerprint AND i.state = 'firing'
      RETURNING i.org_id, i.fingerprint, i.value, v.reason)
    INSERT INTO alert_transitions (org_id, fingerprint, at, from_state, to_state, reason, value)
    SELECT org_id, fingerprint, ${at}, 'firing', 'resolved', reason, value FROM closed`.execute(trx);
}

/**
 * Opens again event instances this transaction inserted closed (`insertNewInstances` of rows
 * `closedEvent` made), whose group turned out not to close them: firing, as the report left them.
 * Rows of this transaction: no lock is waited for.
 */
export async function reopenEvents(trx: Db, events: readonly { orgId: string; fingerprint: string }[]): Promise<void> {
  if (events.length === 0) return;
  await sql`
    UPDATE alert_instances i SET state = 'firing', resolved_at = NULL, updated_at = clock_timestamp()
    FROM unnest(${events.map((e) => e.orgId)}::uuid[], ${events.map((e) => e.fingerprint)}::text[]) AS v(org_id, fingerprint)
    WHERE i.org_id = v.org_id AND i.fingerprint = v.fingerprint AND i.state = 'resolved'`.execute(trx);
}
