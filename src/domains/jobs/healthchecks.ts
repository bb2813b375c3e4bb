import type { z } from 'zod';
import type { HcUniqueField, hcCheckInputSchema } from '../../contracts/jobs.js';
import { badRequest } from '../../platform/errors.js';
import { badgeUrl, channelIdsOf, checkInputSchema, createCheck, listChecks, slugify, updateCheck, type CheckInput, type CheckRow } from './checks.js';
import { listFlips, type FlipRow, type PingRow } from './history.js';
import { displayStatus } from './lifecycle.js';
import type { AnyStoreView } from './tables.js';

/**
 * Healthchecks' management API in the jobs domain's terms: its views of checks, pings and flips
 * (field names, time format and status words as Healthchecks writes them), its check fields mapped
 * to Vigil's and checked with the native API's rules, and its create-or-update by `unique` fields.
 * The routes (http/v3.ts) parse, authenticate and answer; what is decided is decided here.
 */

export type HcCheckInput = z.output<typeof hcCheckInputSchema>;
export type HcVersion = 1 | 2 | 3;

/** Which API version answers, and the path prefix of the URLs in its answers (`update_url`, `body_url`). */
export interface HcMount {
  version: HcVersion;
  links: string;
}

/** Healthchecks formats timestamps without fractions and with an explicit offset: 2020-03-24T14:02:03+00:00. */
const hcTime = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, '+00:00') : null);

/** Healthchecks' status words: Vigil's "late" is its "grace"; API v1 shows a running check as "started". */
export function hcStatus(row: CheckRow, version: 1 | 2 | 3, now = new Date()): string {
  const status = displayStatus({ status: row.status, lateAt: row.late_at }, now);
  if (version === 1 && row.last_start_at && status !== 'down' && status !== 'paused') return 'started';
  return status === 'late' ? 'grace' : status;
}

/** A check as Healthchecks shows it to a read-write key, plus Vigil's extra fields. */
export function hcCheck(row: CheckRow, baseUrl: string, orgChannelIds: readonly string[], mount: HcMount = { version: 3, links: '/api/v3' }, now = new Date()) {
  const api = `${baseUrl}${mount.links}/checks/${row.id}`;
  return {
    name: row.name,
    slug: row.slug,
    tags: row.tags,
    desc: row.description,
    grace: row.grace_s,
    n_pings: row.n_pings,
    status: hcStatus(row, mount.version, now),
    started: row.last_start_at !== null,
    last_ping: hcTime(row.last_ping_at),
    next_ping: row.status === 'up' ? hcTime(row.late_at) : null,
    manual_resume: row.manual_resume,
    methods: row.methods,
    subject: '',
    subject_fail: '',
    start_kw: row.start_kw,
    success_kw: row.success_kw,
    failure_kw: row.failure_kw,
    filter_subject: false,
    filter_body: false,
    filter_http_body: row.filter_http_body,
    filter_default_fail: row.filter_default_fail,
    badge_url: badgeUrl(baseUrl, row.badge_key),
    ...(row.last_duration_ms !== null ? { last_duration: Math.round(Number(row.last_duration_ms) / 1000) } : {}),
    uuid: row.id,
    ping_url: `${baseUrl}/ping/${row.id}`,
    update_url: api,
    pause_url: `${api}/pause`,
    resume_url: `${api}/resume`,
    channels: channelIdsOf(row, orgChannelIds).join(','),
    ...(row.kind === 'simple' ? { timeout: row.timeout_s } : { schedule: row.schedule, tz: row.tz }),
    max_runtime: row.max_runtime_s,
    min_runtime: row.min_runtime_s,
    failure_threshold: row.failure_threshold,
    realert: row.realert_s,
  };
}

export function hcPing(p: PingRow, bodyBase: string) {
  return {
    type: p.kind,
    date: p.created_at.toISOString().replace(/Z$/, '+00:00'),
    n: p.n,
    scheme: p.scheme,
    remote_addr: p.remote_addr,
    method: p.method,
    ua: p.user_agent,
    rid: p.rid,
    ...(p.duration_ms !== null ? { duration: Math.round(Number(p.duration_ms) / 10) / 100 } : {}),
    ...(p.exit_status !== null ? { exitstatus: p.exit_status } : {}),
    body_url: p.body !== null ? `${bodyBase}/${p.n}/body` : null,
  };
}

export const hcFlip = (f: FlipRow) => ({ timestamp: hcTime(f.created_at), up: f.new_status === 'up' ? (1 as const) : (0 as const) });


/** Healthchecks' fields in Vigil's terms, checked with the native API's rules (in Healthchecks' words). */
export function hcCheckInput(body: HcCheckInput, version: HcVersion): CheckInput {
  // v1 and v2 derive the slug from the name, on create and update. v3 takes it as given; a check
  // created without one still gets one from its name (Vigil's default, so slug pings work).
  const slug = body.slug ?? (version < 3 && body.name !== undefined ? slugify(body.name) : undefined);
  const input = {
    name: body.name,
    slug,
    tags: body.tags?.split(/\s+/).filter(Boolean),
    description: body.desc,
    timeout: body.timeout,
    grace: body.grace,
    schedule: body.schedule,
    tz: body.tz,
    manual_resume: body.manual_resume,
    methods: body.methods,
    channels: body.channels,
    max_runtime: body.max_runtime,
    min_runtime: body.min_runtime,
    failure_threshold: body.failure_threshold,
    realert: body.realert,
    filter_http_body: body.filter_http_body,
    filter_default_fail: body.filter_default_fail,
    start_kw: body.start_kw,
    success_kw: body.success_kw,
    failure_kw: body.failure_kw,
  };
  // The kind (simple or scheduled) follows from timeout/schedule when the check is written.
  const parsed = checkInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path[0] === 'description' ? 'desc' : String(issue?.path[0] ?? '');
    throw badRequest(`json validation error: ${field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Whether a check's field named in `unique` equals the request's. */
function sameField(check: CheckRow, body: HcCheckInput, field: HcUniqueField): boolean {
  if (field === 'name') return check.name === body.name;
  if (field === 'slug') return check.slug === body.slug;
  if (field === 'tags') return check.tags === body.tags;
  if (field === 'timeout') return check.timeout_s === body.timeout;
  return check.grace_s === body.grace;
}

/**
 * Healthchecks' create (`POST /checks/`): with `unique` (field names), the organisation's check
 * whose named fields all equal the request's is updated instead of a new one created. A `unique`
 * naming a field the request leaves out matches nothing.
 */
export async function createOrUpdateByUnique(store: AnyStoreView, orgId: string, body: HcCheckInput, version: HcVersion): Promise<{ check: CheckRow; created: boolean }> {
  const unique = body.unique ?? [];
  const match =
    unique.length === 0 || unique.some((f) => body[f] === undefined)
      ? undefined
      : (await listChecks(store, orgId)).find((c) => unique.every((field) => sameField(c, body, field)));
  const input = hcCheckInput(body, version);
  if (match) return { check: await updateCheck(store, orgId, match.id, input), created: false };
  return { check: await createCheck(store, orgId, input), created: true };
}

/** Healthchecks' flips query: `seconds` (the last so many), `start` and `end` (Unix seconds); up/down changes only. */
export async function hcFlips(store: AnyStoreView, checkId: string, query: { seconds?: number; start?: number; end?: number }, now = new Date()): Promise<FlipRow[]> {
  const froms = [query.seconds !== undefined ? now.getTime() - query.seconds * 1000 : undefined, query.start !== undefined ? query.start * 1000 : undefined].filter((t) => t !== undefined);
  return listFlips(store, checkId, {
    upDownOnly: true,
    ...(froms.length ? { from: new Date(Math.max(...froms)) } : {}),
    ...(query.end !== undefined ? { before: new Date(query.end * 1000) } : {}),
  });
}
