import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { BADGE_FORMATS, type badgeFormat, type badgeStatus, type badgeSummarySchema } from '../../contracts/jobs.js';
import { isUuid } from '../../platform/ids.js';
import { findCheckByBadgeKey, listChecks, type CheckRow } from './checks.js';
import { jobsDb } from './tables.js';
import { displayStatus } from './lifecycle.js';
import type { Db } from '../../platform/store/index.js';

/**
 * Status badges as Healthchecks serves them: an SVG image, a JSON summary, or a Shields.io
 * endpoint document, for one check (`/b/<2|3>/<check badge key>.<fmt>`) or for every check of an
 * organisation with a tag (`/badge/<org badge key>/<signature>/<tag>.<fmt>`, `*` for all checks).
 * "2" badges say up or down; "3" badges also say late. Tag badges are signed so that knowing the
 * badge of one tag does not let anyone read the status of another.
 */

export type BadgeStatus = z.infer<typeof badgeStatus>;
export type BadgeFormat = z.infer<typeof badgeFormat>;
export { BADGE_FORMATS };

const COLORS: Record<BadgeStatus, string> = { up: '#4c1', late: '#fe7d37', down: '#e05d44' };
const SHIELDS_COLORS: Record<BadgeStatus, string> = { up: 'success', late: 'important', down: 'critical' };

/** Approximate width in pixels of text in 11px Verdana (what badge renderers use), for the box sizes. */
export function textWidth(text: string): number {
  let width = 0;
  for (const c of text) {
    if ('iljI.,:;|!\'`'.includes(c)) width += 3;
    else if ('frt()[]{} -'.includes(c)) width += 4.5;
    else if ('mwMW'.includes(c)) width += 10;
    else if (c >= 'A' && c <= 'Z') width += 8;
    else width += 7;
  }
  return Math.ceil(width);
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A flat two-part badge: the label on grey, the status on its colour. */
export function badgeSvg(label: string, status: BadgeStatus): string {
  const w1 = textWidth(label) + 10;
  const w2 = textWidth(status) + 10;
  const total = w1 + w2;
  const l = escapeXml(label);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${total}" height="20" role="img" aria-label="${l}: ${status}">`,
    `<title>${l}: ${status}</title>`,
    '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>',
    `<clipPath id="r"><rect width="${total}" height="20" rx="3" fill="#fff"/></clipPath>`,
    `<g clip-path="url(#r)"><rect width="${w1}" height="20" fill="#555"/><rect x="${w1}" width="${w2}" height="20" fill="${COLORS[status]}"/><rect width="${total}" height="20" fill="url(#s)"/></g>`,
    '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">',
    `<text x="${w1 / 2}" y="14">${l}</text><text x="${w1 + w2 / 2}" y="14">${status}</text>`,
    '</g></svg>',
  ].join('');
}

export const shieldsDocument = (label: string, status: BadgeStatus) => ({ schemaVersion: 1, label, message: status, color: SHIELDS_COLORS[status] });

export type BadgeSummary = z.infer<typeof badgeSummarySchema>;

/** The badge state of some checks: down if any is down; late (3-state badges) if any is late; else up. */
export function summarise(rows: Pick<CheckRow, 'status' | 'late_at'>[], withLate: boolean, now = new Date()): BadgeSummary {
  let grace = 0;
  let down = 0;
  for (const row of rows) {
    const status = displayStatus({ status: row.status, lateAt: row.late_at }, now);
    if (status === 'down') down++;
    else if (status === 'late') grace++;
  }
  const status: BadgeStatus = down > 0 ? 'down' : grace > 0 && withLate ? 'late' : 'up';
  return { status, total: rows.length, grace, down };
}

/** A tag badge's signature: 8 characters of an HMAC of the tag under the organisation's secret; "-2" marks a two-state badge. */
export function badgeSignature(secret: string, tag: string, withLate: boolean): string {
  const mac = createHmac('sha256', secret).update(`badge:${tag}`).digest('base64url').slice(0, 8);
  return withLate ? mac : `${mac}-2`;
}

/** Checks a signature from a URL; returns whether the badge shows "late" too, or null when it is not ours. */
export function verifySignature(secret: string, tag: string, signature: string): { withLate: boolean } | null {
  const withLate = !(signature.length === 10 && signature.endsWith('-2'));
  const expected = Buffer.from(badgeSignature(secret, tag, true));
  const given = Buffer.from(signature.slice(0, 8));
  return given.length === expected.length && timingSafeEqual(given, expected) ? { withLate } : null;
}

export interface OrgBadgeKey {
  key: string;
  secret: string;
}

/** The organisation's tag-badge key and secret, created on first use. */
export async function orgBadgeKey(store: Db, orgId: string): Promise<OrgBadgeKey> {
  const db = jobsDb(store);
  const existing = await db.selectFrom('badge_keys').select(['key', 'secret']).where('org_id', '=', orgId).executeTakeFirst();
  if (existing) return existing;
  await db
    .insertInto('badge_keys')
    .values({ org_id: orgId, key: randomUUID(), secret: randomBytes(32).toString('hex') })
    .onConflict((oc) => oc.column('org_id').doNothing())
    .execute();
  return db.selectFrom('badge_keys').select(['key', 'secret']).where('org_id', '=', orgId).executeTakeFirstOrThrow();
}

/** The badge URLs of one tag (`*`: all checks), in every format, as Healthchecks' `/api/v3/badges/` lists them. */
export function tagBadgeUrls(baseUrl: string, key: OrgBadgeKey, tag: string) {
  const url = (withLate: boolean, fmt: BadgeFormat) => {
    const sig = badgeSignature(key.secret, tag, withLate);
    return tag === '*' ? `${baseUrl}/badge/${key.key}/${sig}.${fmt}` : `${baseUrl}/badge/${key.key}/${sig}/${encodeURIComponent(tag)}.${fmt}`;
  };
  return {
    svg: url(false, 'svg'),
    svg3: url(true, 'svg'),
    json: url(false, 'json'),
    json3: url(true, 'json'),
    shields: url(false, 'shields'),
    shields3: url(true, 'shields'),
  };
}

/** Label of the badge for all of an organisation's checks (Healthchecks' MASTER_BADGE_LABEL). */
const ALL_CHECKS_LABEL = 'Vigil';

/** What a badge shows: its label and the state of the checks behind it. */
export interface Badge {
  label: string;
  summary: BadgeSummary;
}

/** "name.fmt" → [name, fmt]; the format is the text after the last dot. */
export function splitBadgeFile(file: string): [string, BadgeFormat] | null {
  const dot = file.lastIndexOf('.');
  const fmt = file.slice(dot + 1);
  if (dot <= 0 || !(BADGE_FORMATS as readonly string[]).includes(fmt)) return null;
  return [file.slice(0, dot), fmt as BadgeFormat];
}

/** The badge of one check (`/b/<states>/<badge key>`), or null when the URL names none. */
export async function checkBadge(store: Db, states: string, badgeKey: string): Promise<Badge | null> {
  if (!isUuid(badgeKey) || (states !== '2' && states !== '3')) return null;
  const check = await findCheckByBadgeKey(store, badgeKey.toLowerCase());
  if (!check) return null;
  // The label is the name or slug, never the id (which is the ping URL).
  return { label: check.name || check.slug || 'check', summary: summarise([check], states === '3') };
}

/** The badge of an organisation's checks with a tag (`*`: all), or null unless the key and signature are the organisation's. */
export async function tagBadge(store: Db, key: string, signature: string, tag: string): Promise<Badge | null> {
  if (!isUuid(key)) return null;
  const org = await jobsDb(store).selectFrom('badge_keys').select(['org_id', 'secret']).where('key', '=', key.toLowerCase()).executeTakeFirst();
  const verified = org && verifySignature(org.secret, tag, signature);
  if (!org || !verified) return null;
  const rows = await listChecks(store, org.org_id, tag === '*' ? {} : { tags: [tag] });
  return { label: tag === '*' ? ALL_CHECKS_LABEL : tag, summary: summarise(rows, verified.withLate) };
}
