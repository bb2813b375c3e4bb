import type { z } from 'zod';
import type { HcUniqueField, hcCheckInputSchema, hcCheckSchema, hcFlipSchema, hcPingSchema } from '../../contracts/jobs.js';
import { badRequest, notFound } from '../../platform/errors.js';
import type { Principal } from '../accounts/index.js';
import { listChannels } from '../notify/index.js';
import { orgBadgeKey, tagBadgeUrls } from './badges.js';
import {
  badgeUrl,
  channelIdsOf,
  checkInputSchema,
  createCheck,
  deleteCheck,
  getCheck,
  listChecks,
  pauseCheck,
  resumeCheck,
  slugify,
  updateCheck,
  type CheckInput,
  type CheckRow,
} from './checks.js';
import { listFlips, listPings, pingBody, type FlipRow, type PingRow } from './history.js';
import { publishCheck, publishCheckDeleted, type LiveDeps } from './live.js';
import { displayStatus } from './lifecycle.js';
import type { Db } from '../../platform/store/index.js';

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
export function hcCheck(row: CheckRow, baseUrl: string, orgChannelIds: readonly string[], mount: HcMount = { version: 3, links: '/api/v3' }, now = new Date()): z.infer<typeof hcCheckSchema> {
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

export function hcPing(p: PingRow, bodyBase: string): z.infer<typeof hcPingSchema> {
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

export const hcFlip = (f: FlipRow): z.infer<typeof hcFlipSchema> => ({ timestamp: hcTime(f.created_at), up: f.new_status === 'up' ? 1 : 0 });


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
export async function createOrUpdateByUnique(store: Db, orgId: string, body: HcCheckInput, version: HcVersion): Promise<{ check: CheckRow; created: boolean }> {
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
export async function hcFlips(store: Db, checkId: string, query: { seconds?: number; start?: number; end?: number }, now = new Date()): Promise<FlipRow[]> {
  const froms = [query.seconds !== undefined ? now.getTime() - query.seconds * 1000 : undefined, query.start !== undefined ? query.start * 1000 : undefined].filter((t) => t !== undefined);
  return listFlips(store, checkId, {
    upDownOnly: true,
    ...(froms.length ? { from: new Date(Math.max(...froms)) } : {}),
    ...(query.end !== undefined ? { before: new Date(query.end * 1000) } : {}),
  });
}

/** Who asks: the organisation whose checks a verb reads or changes (the route checked the role). */
export type HcActor = Pick<Principal, 'orgId'>;

/**
 * The Healthchecks API's verbs as one mount answers them (its version and link prefix), on behalf
 * of an actor: each reads or changes the actor's checks, tells dashboards what changed, and
 * returns the answer in Healthchecks' shape.
 */
export function healthchecksVerbs(deps: LiveDeps, mount: HcMount) {
  const orgChannelIds = async (orgId: string) => (await listChannels(deps.db, orgId)).map((c) => c.id);
  const view = async (row: CheckRow) => hcCheck(row, deps.baseUrl, await orgChannelIds(row.org_id), mount);
  const changed = async (row: CheckRow) => {
    void publishCheck(deps, row);
    return view(row);
  };
  return {
    async listChecks(actor: HcActor, filter: { tags: string[]; slug?: string }) {
      const [rows, channels] = await Promise.all([listChecks(deps.db, actor.orgId, filter), orgChannelIds(actor.orgId)]);
      return { checks: rows.map((r) => hcCheck(r, deps.baseUrl, channels, mount)) };
    },
    async createOrUpdate(actor: HcActor, body: HcCheckInput) {
      const { check, created } = await createOrUpdateByUnique(deps.db, actor.orgId, body, mount.version);
      return { check: await changed(check), created };
    },
    async listChannels(actor: HcActor) {
      const rows = await listChannels(deps.db, actor.orgId);
      return { channels: rows.map((c) => ({ id: c.id, name: c.name, kind: c.kind })) };
    },
    async listBadges(actor: HcActor) {
      const [key, rows] = await Promise.all([orgBadgeKey(deps.db, actor.orgId), listChecks(deps.db, actor.orgId)]);
      const allTags = new Set(['*', ...rows.flatMap((r) => r.tags.split(' ').filter(Boolean))]);
      return { badges: Object.fromEntries([...allTags].map((tag) => [tag, tagBadgeUrls(deps.baseUrl, key, tag)])) };
    },
    getCheck: async (actor: HcActor, id: string) => view(await getCheck(deps.db, actor.orgId, id)),
    updateCheck: async (actor: HcActor, id: string, body: HcCheckInput) => changed(await updateCheck(deps.db, actor.orgId, id, hcCheckInput(body, mount.version))),
    async deleteCheck(actor: HcActor, id: string) {
      const channels = await orgChannelIds(actor.orgId);
      const deleted = await deleteCheck(deps.db, actor.orgId, id);
      publishCheckDeleted(deps, actor.orgId, deleted.id);
      return hcCheck(deleted, deps.baseUrl, channels, mount);
    },
    pauseCheck: async (actor: HcActor, id: string) => changed(await pauseCheck(deps.db, actor.orgId, id)),
    resumeCheck: async (actor: HcActor, id: string) => changed(await resumeCheck(deps.db, actor.orgId, id)),
    async listPings(actor: HcActor, id: string) {
      const check = await getCheck(deps.db, actor.orgId, id);
      const pings = await listPings(deps.db, check.id, 1000);
      const bodyBase = `${deps.baseUrl}${mount.links}/checks/${check.id}/pings`;
      return { pings: pings.map((ping) => hcPing(ping, bodyBase)) };
    },
    /** A ping's kept body; not_found when the check, the ping or its body is missing. */
    async pingBody(actor: HcActor, id: string, n: number): Promise<string> {
      const check = await getCheck(deps.db, actor.orgId, id);
      const body = await pingBody(deps.db, check.id, n);
      if (body === undefined || body === null) throw notFound('Ping body');
      return body;
    },
    async listFlips(actor: HcActor, id: string, query: { seconds?: number; start?: number; end?: number }) {
      const check = await getCheck(deps.db, actor.orgId, id);
      return { flips: (await hcFlips(deps.db, check.id, query)).map(hcFlip) };
    },
  };
}
