import { z } from 'zod';

/**
 * Which check `vigil run` pings: by its UUID, or by the organisation's ping key and the check's
 * slug (Healthchecks' two URL forms, `/ping/<uuid>` and `/ping/<ping-key>/<slug>`).
 */
export type CheckRef = { kind: 'uuid'; uuid: string } | { kind: 'slug'; pingKey: string; slug: string };

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Ping keys are URL-safe base64 tokens; slugs follow Django's slug converter, as Healthchecks' URLs do.
const PING_KEY_RE = /^[A-Za-z0-9_-]+$/;
const SLUG_RE = /^[A-Za-z0-9_-]+$/;

export const checkRefSchema = z.string().transform((value, ctx): CheckRef => {
  const trimmed = value.trim();
  if (UUID_RE.test(trimmed)) return { kind: 'uuid', uuid: trimmed.toLowerCase() };
  const parts = trimmed.split('/');
  if (parts.length === 2) {
    const [pingKey = '', slug = ''] = parts;
    if (PING_KEY_RE.test(pingKey) && SLUG_RE.test(slug)) return { kind: 'slug', pingKey, slug };
  }
  ctx.addIssue({
    code: 'custom',
    message: `"${value}" is neither a check UUID (e.g. 5b7f3b8c-3c3e-4d53-9f0b-1c8e0e6c2a41) nor <ping-key>/<slug> (letters, digits, "-" and "_")`,
  });
  return z.NEVER;
});

export function parseCheckRef(value: string): CheckRef {
  return checkRefSchema.parse(value);
}

/** Base URL of a Vigil server: http(s) only, any path prefix kept (for a server behind a reverse proxy). */
export const serverUrlSchema = z.string().transform((value, ctx): URL => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL (expected e.g. http://127.0.0.1:8080)` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `"${value}" must be an http:// or https:// URL` });
    return z.NEVER;
  }
  if (url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: `"${value}" must not carry a query or fragment` });
    return z.NEVER;
  }
  return url;
});

/** What a ping reports: the start of a run, or its end with an exit status (0 = success). */
export type PingEvent = { kind: 'start' } | { kind: 'exit'; status: number };

/**
 * The ping URL for `event` of run `rid`, e.g. `http://host/ping/<uuid>/start?rid=...` or
 * `http://host/ping/<key>/<slug>/3?rid=...&create=1`.
 */
export function pingUrl(server: URL, ref: CheckRef, event: PingEvent, rid: string, create = false): URL {
  const base = server.href.endsWith('/') ? server.href : `${server.href}/`;
  const check = ref.kind === 'uuid' ? ref.uuid : `${encodeURIComponent(ref.pingKey)}/${encodeURIComponent(ref.slug)}`;
  const suffix = event.kind === 'start' ? 'start' : String(event.status);
  const url = new URL(`ping/${check}/${suffix}`, base);
  url.searchParams.set('rid', rid);
  // Healthchecks only auto-creates on slug URLs; a UUID names a check that must already exist.
  if (create && ref.kind === 'slug') url.searchParams.set('create', '1');
  return url;
}
