import type { FastifyError } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppError} from '../../../platform/errors.js';
import { badRequest, notFound } from '../../../platform/errors.js';
import type { FlipsTable, PingsTable } from '../../../platform/store/index.js';
import type { Selectable } from 'kysely';
import type { AppContext } from '../../../server/context.js';
import { principalOf, requireRole } from '../../../server/plugins/auth.js';
import { answerError, type ErrorBody } from '../../../server/plugins/errors.js';
import { checkInputSchema, createCheck, deleteCheck, getCheck, listChecks, pauseCheck, resumeCheck, updateCheck, type CheckInput, type CheckRow } from '../checks.js';
import { displayStatus } from '../lifecycle.js';
import { publishCheck, publishCheckDeleted } from '../live.js';

/** Healthchecks formats timestamps without fractions and with an explicit offset: 2020-03-24T14:02:03+00:00. */
const hcTime = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, '+00:00') : null);

/** Healthchecks' status words: a run in progress shows as "started", Vigil's "late" is its "grace". */
function hcStatus(row: CheckRow, now: Date): string {
  if (row.status === 'paused') return 'paused';
  if (row.last_start_at) return 'started';
  const status = displayStatus({ status: row.status, lateAt: row.late_at }, now);
  return status === 'late' ? 'grace' : status;
}

/** A check as the Healthchecks v3 API shows it to a read-write key, plus Vigil's extra fields. */
export function hcCheck(row: CheckRow, baseUrl: string, now = new Date()) {
  const api = `${baseUrl}/api/v3/checks/${row.id}`;
  return {
    name: row.name,
    slug: row.slug,
    tags: row.tags,
    desc: row.description,
    grace: row.grace_s,
    n_pings: row.n_pings,
    status: hcStatus(row, now),
    started: row.last_start_at !== null,
    last_ping: hcTime(row.last_ping_at),
    next_ping: row.status === 'up' ? hcTime(row.late_at) : null,
    manual_resume: row.manual_resume,
    methods: row.methods,
    subject: '',
    subject_fail: '',
    start_kw: '',
    success_kw: '',
    failure_kw: '',
    filter_subject: false,
    filter_body: false,
    ...(row.last_duration_ms !== null ? { last_duration: Math.round(Number(row.last_duration_ms) / 1000) } : {}),
    uuid: row.id,
    ping_url: `${baseUrl}/ping/${row.id}`,
    update_url: api,
    pause_url: `${api}/pause`,
    resume_url: `${api}/resume`,
    channels: row.channels,
    ...(row.kind === 'simple' ? { timeout: row.timeout_s } : { schedule: row.schedule, tz: row.tz }),
    max_runtime: row.max_runtime_s,
    min_runtime: row.min_runtime_s,
    failure_threshold: row.failure_threshold,
    realert: row.realert_s,
  };
}

function hcPing(p: Selectable<PingsTable>) {
  return {
    type: p.kind,
    date: p.created_at.toISOString().replace(/Z$/, '+00:00'),
    n: p.n,
    scheme: p.scheme,
    remote_addr: p.remote_addr,
    method: p.method,
    ua: p.user_agent,
    rid: p.rid,
    ...(p.duration_ms !== null ? { duration: Number(p.duration_ms) / 1000 } : {}),
    ...(p.exit_status !== null ? { exitstatus: p.exit_status } : {}),
    body_url: p.body !== null ? `/api/v3/checks/${p.check_id}/pings/${p.n}/body` : null,
  };
}

const hcFlip = (f: Selectable<FlipsTable>) => ({ timestamp: hcTime(f.created_at), up: f.new_status === 'up' ? 1 : 0 });

const UNIQUE_FIELDS = ['name', 'slug', 'tags', 'timeout', 'grace'] as const;

const hcBody = z.object({
  api_key: z.string().optional(),
  name: z.string().max(200).optional(),
  slug: z.string().max(100).optional(),
  tags: z.string().max(500).optional(),
  desc: z.string().max(10_000).optional(),
  timeout: z.number().int().optional(),
  grace: z.number().int().optional(),
  schedule: z.string().max(200).optional(),
  tz: z.string().max(100).optional(),
  manual_resume: z.boolean().optional(),
  methods: z.enum(['', 'POST']).optional(),
  channels: z.string().optional(),
  unique: z.array(z.enum(UNIQUE_FIELDS)).optional(),
  max_runtime: z.number().int().nullable().optional(),
  min_runtime: z.number().int().nullable().optional(),
  failure_threshold: z.number().int().optional(),
  realert: z.number().int().nullable().optional(),
});
type HcBody = z.infer<typeof hcBody>;

/** Healthchecks' error body: `{"error": "..."}`; request validation as `json validation error: <field>: <reason>`. */
const healthchecksError: ErrorBody = ({ status, message, fields }) => {
  const first = fields?.[0];
  if (first) return { error: `json validation error: ${first.path.length ? `${first.path.join('/')}: ` : ''}${first.message}` };
  return { error: status >= 500 ? 'internal server error' : message };
};

const uuidParams = z.object({ uuid: z.string().uuid('invalid uuid') });

/**
 * Healthchecks management API v3 (`/api/v3/checks/...`) so existing Healthchecks tooling can
 * provision Vigil. Errors use Healthchecks' own shape, `{"error": "..."}`, which those tools parse.
 */
export function v3Routes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.setErrorHandler((error: FastifyError | AppError, request, reply) => answerError(error, request, reply, healthchecksError));

    const read = { preHandler: requireRole(ctx, 'read-only') };
    const write = { preHandler: requireRole(ctx, 'member') };
    const tags = ['healthchecks v3'];

    /** Validates channel ids like Healthchecks: "*", "" or comma-separated ids of this org's channels. */
    async function channelsField(orgId: string, value: string | undefined): Promise<string | undefined> {
      if (value === undefined || value === '*' || value === '') return value;
      const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
      const known = await ctx.db.selectFrom('channels').select(['id', 'name']).where('org_id', '=', orgId).execute();
      const resolved = ids.map((idOrName) => known.find((c) => c.id === idOrName || c.name === idOrName)?.id);
      const bad = ids.find((_, i) => !resolved[i]);
      if (bad) throw badRequest(`invalid channel identifier: ${bad}`);
      return resolved.join(',');
    }

    async function toInput(orgId: string, body: HcBody): Promise<CheckInput> {
      const input = {
        name: body.name,
        slug: body.slug,
        tags: body.tags?.split(/\s+/).filter(Boolean),
        description: body.desc,
        timeout: body.timeout,
        grace: body.grace,
        schedule: body.schedule,
        tz: body.tz,
        manual_resume: body.manual_resume,
        methods: body.methods,
        channels: await channelsField(orgId, body.channels),
        max_runtime: body.max_runtime,
        min_runtime: body.min_runtime,
        failure_threshold: body.failure_threshold,
        realert: body.realert,
      };
      // The same rules as Vigil's own API (ranges, slug characters, threshold), in Healthchecks' words.
      // The kind (simple or cron) follows from timeout/schedule when the check is written.
      const parsed = checkInputSchema.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue?.path[0] === 'description' ? 'desc' : String(issue?.path[0] ?? '');
        throw badRequest(`json validation error: ${field}: ${issue?.message ?? 'invalid'}`);
      }
      return parsed.data;
    }

    app.get('/api/v3/checks/', { ...read, schema: { tags, summary: 'List checks', querystring: z.object({ tag: z.union([z.string(), z.array(z.string())]).optional(), slug: z.string().optional() }) } }, async (request) => {
      const { orgId } = principalOf(request);
      const tagFilter = request.query.tag === undefined ? [] : [request.query.tag].flat();
      const rows = await listChecks(ctx.db, orgId, { tags: tagFilter, slug: request.query.slug });
      return { checks: rows.map((r) => hcCheck(r, ctx.baseUrl)) };
    });

    app.post('/api/v3/checks/', { ...write, schema: { tags, summary: 'Create a check (or update the one matching `unique`)', body: hcBody } }, async (request, reply) => {
      const { orgId } = principalOf(request);
      const input = await toInput(orgId, request.body);
      if (request.body.unique?.length) {
        const candidates = await listChecks(ctx.db, orgId);
        const body = request.body;
        const match = candidates.find((c) =>
          body.unique!.every((field) => {
            if (field === 'name') return c.name === (body.name ?? '');
            if (field === 'slug') return c.slug === (body.slug ?? '');
            if (field === 'tags') return c.tags === (body.tags ?? '');
            if (field === 'timeout') return c.kind === 'simple' && c.timeout_s === body.timeout;
            return c.grace_s === body.grace;
          }),
        );
        if (match) {
          const updated = await updateCheck(ctx.db, orgId, match.id, input);
          void publishCheck(ctx, updated);
          return reply.status(200).send(hcCheck(updated, ctx.baseUrl));
        }
      }
      const created = await createCheck(ctx.db, orgId, input);
      void publishCheck(ctx, created);
      return reply.status(201).send(hcCheck(created, ctx.baseUrl));
    });

    app.get('/api/v3/checks/:uuid', { ...read, schema: { tags, summary: 'Get a check', params: uuidParams } }, async (request) =>
      hcCheck(await getCheck(ctx.db, principalOf(request).orgId, request.params.uuid), ctx.baseUrl),
    );

    app.post('/api/v3/checks/:uuid', { ...write, schema: { tags, summary: 'Update a check', params: uuidParams, body: hcBody } }, async (request) => {
      const { orgId } = principalOf(request);
      const updated = await updateCheck(ctx.db, orgId, request.params.uuid, await toInput(orgId, request.body));
      void publishCheck(ctx, updated);
      return hcCheck(updated, ctx.baseUrl);
    });

    app.delete('/api/v3/checks/:uuid', { ...write, schema: { tags, summary: 'Delete a check', params: uuidParams } }, async (request) => {
      const { orgId } = principalOf(request);
      const deleted = await deleteCheck(ctx.db, orgId, request.params.uuid);
      publishCheckDeleted(ctx, orgId, deleted.id);
      return hcCheck(deleted, ctx.baseUrl);
    });

    app.post('/api/v3/checks/:uuid/pause', { ...write, schema: { tags, summary: 'Pause monitoring', params: uuidParams } }, async (request) => {
      const row = await pauseCheck(ctx.db, principalOf(request).orgId, request.params.uuid);
      void publishCheck(ctx, row);
      return hcCheck(row, ctx.baseUrl);
    });

    app.post('/api/v3/checks/:uuid/resume', { ...write, schema: { tags, summary: 'Resume monitoring (409 if not paused)', params: uuidParams } }, async (request) => {
      const row = await resumeCheck(ctx.db, principalOf(request).orgId, request.params.uuid);
      void publishCheck(ctx, row);
      return hcCheck(row, ctx.baseUrl);
    });

    app.get('/api/v3/checks/:uuid/pings/', { ...read, schema: { tags, summary: 'Recent pings, newest first', params: uuidParams } }, async (request) => {
      const check = await getCheck(ctx.db, principalOf(request).orgId, request.params.uuid);
      const pings = await ctx.db.selectFrom('pings').selectAll().where('check_id', '=', check.id).orderBy('n', 'desc').limit(100).execute();
      return { pings: pings.map(hcPing) };
    });

    app.get('/api/v3/checks/:uuid/pings/:n/body', { ...read, schema: { tags, summary: 'A ping body', params: uuidParams.extend({ n: z.coerce.number().int().min(1) }) } }, async (request, reply) => {
      const check = await getCheck(ctx.db, principalOf(request).orgId, request.params.uuid);
      const ping = await ctx.db.selectFrom('pings').select('body').where('check_id', '=', check.id).where('n', '=', request.params.n).executeTakeFirst();
      if (!ping || ping.body === null) throw notFound('Ping body');
      return reply.type('text/plain; charset=utf-8').send(ping.body);
    });

    app.get('/api/v3/checks/:uuid/flips/', { ...read, schema: { tags, summary: 'Status changes (up/down)', params: uuidParams } }, async (request) => {
      const check = await getCheck(ctx.db, principalOf(request).orgId, request.params.uuid);
      const flips = await ctx.db
        .selectFrom('flips')
        .selectAll()
        .where('check_id', '=', check.id)
        .where('new_status', 'in', ['up', 'down'])
        .orderBy('id')
        .execute();
      return { flips: flips.map(hcFlip) };
    });

    app.get('/api/v3/channels/', { ...read, schema: { tags, summary: 'List notification channels' } }, async (request) => {
      const rows = await ctx.db.selectFrom('channels').select(['id', 'name', 'kind']).where('org_id', '=', principalOf(request).orgId).orderBy('created_at').execute();
      return { channels: rows };
    });
  };
}
