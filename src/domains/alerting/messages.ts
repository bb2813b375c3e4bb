/**
 * The alert manager's pure naming and wording: fingerprints, group keys, the labels an instance is
 * matched and shown by, and the notification a group sends. No clock, no database.
 *
 * Invariants:
 * - A fingerprint depends only on the source, the rule (or check) id and the instance's identity
 *   labels, in any order: the same condition always lands on the same instance, and a renamed rule
 *   or check keeps its instances (names are display labels, not identity).
 * - A group key is the source, the rule id and the values of the rule's group-by labels: a rule
 *   without group-by has one group, so a burst of instances is one notification.
 * - A notification is built only from what the group decision announces (its firing and resolved
 *   members); its wording never decides anything.
 */
import { createHash } from 'node:crypto';
import type { AlertSource } from '../../contracts/alerting.js';
import type { NotifiedAlert } from '../../contracts/notify.js';
import type { GroupNotification } from './grouping.js';

const sortedEntries = (labels: Readonly<Record<string, string>>) => Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Hex digest of source + rule id + sorted identity labels (128 bits: no collision in practice). */
export function fingerprintOf(source: string, ruleId: string, labels: Readonly<Record<string, string>>): string {
  return createHash('sha256')
    .update(JSON.stringify([source, ruleId, sortedEntries(labels)]))
    .digest('hex')
    .slice(0, 32);
}

/** Longest group key kept whole, in characters: ≤ 1,600 bytes, well inside a btree entry (2,704). */
const MAX_GROUP_KEY_CHARS = 400;

/**
 * `source:ruleId` plus `{name="value",…}` of the group-by labels (readable in logs and idempotency
 * keys). A key longer than MAX_GROUP_KEY_CHARS (label values of a thousand characters: a recipient
 * address grouped on) keeps its first 200 characters and ends with a hash of the whole: the key is
 * in btree indexes (alert_groups, alert_instances, the alerts' idempotency key), whose entries
 * PostgreSQL refuses beyond 2,704 bytes — one such value would fail every report it is part of.
 */
export function groupKeyOf(source: string, ruleId: string, groupBy: readonly string[], labels: Readonly<Record<string, string>>): string {
  const base = `${source}:${ruleId}`;
  if (groupBy.length === 0) return base;
  const parts = [...new Set(groupBy)].sort().map((name) => `${name}=${JSON.stringify(labels[name] ?? '')}`);
  const key = `${base}{${parts.join(',')}}`;
  if (key.length <= MAX_GROUP_KEY_CHARS) return key;
  return `${Array.from(key).slice(0, 200).join('')}…#${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/**
 * The labels silences match and users see: the report's labels, its display labels, and the
 * rule's name, source and severity (which win over a report label of the same name).
 */
export function instanceLabels(r: {
  labels: Readonly<Record<string, string>>;
  displayLabels?: Readonly<Record<string, string>> | undefined;
  ruleName: string;
  source: AlertSource;
  severity: string;
}): Record<string, string> {
  return { ...r.labels, ...(r.displayLabels ?? {}), rule: r.ruleName, source: r.source, severity: r.severity };
}

/** An instance as a notification tells about it. */
export interface NotifiedInstance {
  fingerprint: string;
  labels: Record<string, string>;
  state: 'firing' | 'resolved';
  summary: string;
  /** What the source said last (for jobs: fail, missed, too_long, too_short, recovered); '' when nothing. */
  kind: string;
  value: number | null;
  threshold: number | null;
  /** Since when it is in that state (ms). */
  since: number;
  /** Path of its page (e.g. /checks/<id>), or null. */
  link: string | null;
  details: Record<string, unknown>;
}

export interface GroupMessageInput {
  source: AlertSource;
  ruleId: string;
  ruleName: string;
  groupKey: string;
  notification: GroupNotification;
  /** The instances the notification names, by fingerprint (firing and resolved). */
  instances: ReadonlyMap<string, NotifiedInstance>;
  /** Public base URL (no trailing slash) that makes links absolute; '' keeps them as paths. */
  baseUrl: string;
}

export interface GroupMessage {
  /** `alert.firing`, `alert.resolved` (nothing fires any more) or `alert.reminder` (a repeat). */
  type: 'alert.firing' | 'alert.resolved' | 'alert.reminder';
  kind: string;
  title: string;
  message: string;
  /** Everything of `NotifiedAlert` but its id and creation time. */
  alert: Omit<NotifiedAlert, 'id' | 'created_at'>;
}

const absolute = (link: string | null, baseUrl: string): string | null => {
  if (link === null) return null;
  if (/^https?:\/\//i.test(link)) return link;
  return baseUrl ? `${baseUrl.replace(/\/+$/, '')}${link.startsWith('/') ? '' : '/'}${link}` : link;
};

const formatNumber = (n: number) => (Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4))));

/** One line per instance: labels (without the group's own), value vs threshold, since when, link. */
export function describeInstance(i: NotifiedInstance, baseUrl: string): string {
  const own = sortedEntries(i.labels)
    .filter(([name]) => name !== 'rule' && name !== 'source' && name !== 'severity')
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  const value = i.value === null ? '' : i.threshold === null ? ` value ${formatNumber(i.value)}` : ` value ${formatNumber(i.value)} (threshold ${formatNumber(i.threshold)})`;
  const since = `${i.state === 'firing' ? 'firing since' : 'resolved at'} ${new Date(i.since).toISOString()}`;
  const link = absolute(i.link, baseUrl);
  return `- ${i.summary}${own.length ? ` {${own.join(', ')}}` : ''}:${value} ${since}${link ? ` ${link}` : ''}`;
}

/**
 * The notification of one group decision. Titles as Alertmanager's default template
 * ("[FIRING:3] 5xx by section"), or the instance's own summary when it names exactly one.
 */
export function buildGroupMessage(input: GroupMessageInput): GroupMessage {
  const { notification: n, instances, baseUrl } = input;
  const pick = (fingerprints: readonly string[]) => fingerprints.map((f) => instances.get(f)).filter((i): i is NotifiedInstance => i !== undefined);
  const firing = pick(n.firing);
  const resolved = pick(n.resolved);
  const type: GroupMessage['type'] = n.kind === 'repeat' ? 'alert.reminder' : firing.length > 0 ? 'alert.firing' : 'alert.resolved';
  const all = [...firing, ...resolved];
  const only = all.length === 1 ? all[0] : undefined;

  let title: string;
  if (only) title = n.kind === 'repeat' ? `Still firing: ${only.summary}` : only.summary;
  else {
    const counts = firing.length && resolved.length ? `FIRING:${firing.length}, RESOLVED:${resolved.length}` : firing.length ? `FIRING:${firing.length}` : `RESOLVED:${resolved.length}`;
    title = `[${n.kind === 'repeat' ? 'STILL ' : ''}${counts}] ${input.ruleName}`;
  }
  const kind = n.kind === 'repeat' ? 'reminder' : only?.kind || (firing.length ? 'firing' : 'resolved');

  const sections: string[] = [];
  if (firing.length) sections.push(`Firing (${firing.length}):`, ...firing.map((i) => describeInstance(i, baseUrl)));
  if (resolved.length) sections.push(`Resolved (${resolved.length}):`, ...resolved.map((i) => describeInstance(i, baseUrl)));
  const reason = only && typeof only.details.reason === 'string' ? `${only.details.reason}\n\n` : '';
  const message = `${reason}${sections.join('\n')}`;

  const link = absolute(only?.link ?? null, baseUrl);
  const details: Record<string, unknown> = {
    // One instance: its facts at the top level, as job alerts always had them (check_id, output_tail…).
    ...(only ? only.details : {}),
    state: type.slice('alert.'.length),
    group_key: input.groupKey,
    rule_id: input.ruleId,
    rule_name: input.ruleName,
    firing: firing.length,
    resolved: resolved.length,
  };
  return {
    type,
    kind,
    title,
    message,
    alert: {
      source: input.source,
      kind,
      subject_id: input.ruleId,
      title,
      message,
      details,
      status: firing.length ? 'firing' : 'resolved',
      group_key: input.groupKey,
      rule_name: input.ruleName,
      link,
      instances: all.map((i) => ({
        fingerprint: i.fingerprint,
        state: i.state,
        labels: i.labels,
        summary: i.summary,
        value: i.value,
        threshold: i.threshold,
        since: new Date(i.since).toISOString(),
        link: absolute(i.link, baseUrl),
      })),
    },
  };
}
