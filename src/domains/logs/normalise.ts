/**
 * How every ingest protocol's records become the one log event (`LogEvent`, event.ts): the pure helpers that build it:
 * section of a path, level names, timestamps, and the flexible field lookup that lets agents send
 * `time|ts|@timestamp`, `msg|message`, nested `http.*` or flat `method/path/status` alike.
 *
 * Rules (the decoders and their tests rely on them):
 * - Timestamps are epoch milliseconds, UTC. A missing timestamp means "now" (`receivedAt`); a present
 *   but unreadable one rejects the event: silently re-timing an event would corrupt event-time stats.
 * - HTTP fields are taken "where present": a value under an HTTP alias that is not a valid value for
 *   that field (e.g. `status: "error"`) is not taken and stays in `attributes`; it never rejects the
 *   event, because several aliases (`code`, `size`, `status`) also have non-HTTP meanings.
 * - An event must carry a message or at least one HTTP field; identity fields (service, host, source)
 *   are strings of at most 256 characters.
 */

import type { LogEvent } from './event.js';
import { sectionOf as sectionOfPath } from './parsers/request.js';

/** Raw, not yet validated field values: what a decoder or a line parser found. */
export interface EventFields {
  timestamp?: unknown;
  service?: unknown;
  host?: unknown;
  source?: unknown;
  level?: unknown;
  message?: unknown;
  method?: unknown;
  path?: unknown;
  status?: unknown;
  bytes?: unknown;
  durationMs?: unknown;
  remoteAddr?: unknown;
  userAgent?: unknown;
  attributes?: Record<string, unknown>;
}

export type BuildResult = { ok: true; event: LogEvent } | { ok: false; reason: string };

/** Defaults a request can give for events that do not name them (query parameters, protocol). */
export interface EventDefaults {
  service?: string;
  host?: string;
  source?: string;
}

export const MAX_IDENTITY_LENGTH = 256;
/** Years 0001–9999 in epoch ms: the range `Date` round-trips through ISO strings. */
const MIN_TIMESTAMP_MS = -62_135_596_800_000;
const MAX_TIMESTAMP_MS = 253_402_300_799_999;

// ---------------------------------------------------------------------------------------------
// Section, path

/**
 * The URL path of a request target: the path part of an absolute URL (proxy requests, `http.url`),
 * without query string or fragment; a relative target gets its leading `/`.
 */
export function pathOf(target: string): string {
  // The common case, already a bare path, costs one scan.
  if (target.charCodeAt(0) === 47 /* / */ && !/[?#\s]/.test(target)) return target;
  let path = target.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(path);
  if (scheme) {
    const slash = path.indexOf('/', scheme[0].length);
    path = slash < 0 ? '/' : path.slice(slash);
  }
  const cut = path.search(/[?#]/);
  if (cut >= 0) path = path.slice(0, cut);
  if (!path.startsWith('/')) path = `/${path}`;
  return path;
}

/**
 * The section of a request target: its path's part before the second `/` (`/api/user` → `/api`,
 * `/` → `/`, `http://h/a/b?q` → `/a`). One definition with the access-log parsers (they apply it to
 * the paths they read); here the target is first reduced to a `/`-rooted path.
 */
export const sectionOf = (target: string): string => sectionOfPath(pathOf(target));

// ---------------------------------------------------------------------------------------------
// Levels

const LEVEL_NAMES: Record<string, string> = {
  trace: 'trace',
  verbose: 'trace',
  debug: 'debug',
  dbg: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  ok: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
};

/** Syslog severities 0–7 (RFC 5424). */
const SYSLOG_LEVELS = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];

/** OpenTelemetry SeverityNumber (1–24, four steps per level) to a level name. */
export function levelFromSeverityNumber(n: number): string | null {
  if (!Number.isInteger(n) || n < 1 || n > 24) return null;
  return (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const)[Math.floor((n - 1) / 4)] ?? null;
}

/**
 * A level name from what senders write: names in any case (`WARNING` → `warn`), syslog numbers
 * 0–7, pino/bunyan numbers 10–60. Unknown names are kept lower-cased rather than dropped.
 */
export function normaliseLevel(raw: unknown): string | null {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) return null;
    if (raw >= 0 && raw <= 7) return SYSLOG_LEVELS[raw] ?? null;
    if (raw >= 10 && raw <= 60) return ['trace', 'debug', 'info', 'warn', 'error', 'fatal'][Math.floor(raw / 10) - 1] ?? null;
    return null;
  }
  if (typeof raw !== 'string') return null;
  const name = raw.trim().toLowerCase();
  if (name === '') return null;
  if (/^\d+$/.test(name)) return normaliseLevel(Number(name));
  // Own keys only: `constructor` or `__proto__` would otherwise find Object.prototype's members.
  return Object.hasOwn(LEVEL_NAMES, name) ? LEVEL_NAMES[name]! : name.slice(0, 32);
}

// ---------------------------------------------------------------------------------------------
// Timestamps

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
// `\d+(?:\.\d*)?` rather than `\d+\.?\d*`: the same numbers, but without a dot the latter splits a run
// of digits between `\d+` and `\d*` in every way before failing, quadratic in its length (a 60 kB
// timestamp of digits and a letter took 4 s, a 1 MB event would take minutes).
const NUMERIC_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Epoch milliseconds from an epoch number whose unit is guessed from its magnitude: seconds below
 * 1e11 (until the year 5138), then milliseconds, microseconds, nanoseconds.
 */
export function epochToMs(n: number): number {
  const abs = Math.abs(n);
  if (abs < 1e11) return Math.round(n * 1000);
  if (abs < 1e14) return Math.round(n);
  if (abs < 1e17) return Math.round(n / 1e3);
  return Math.round(n / 1e6);
}

/** Epoch milliseconds from an integer count of nanoseconds written as a decimal string (OTLP, Loki). */
export function nanosStringToMs(nanos: string): number | null {
  if (!/^\d{1,20}$/.test(nanos)) return null;
  // Dropping the last six digits is an exact floor division by 1e6, without BigInt.
  return nanos.length <= 6 ? 0 : Number(nanos.slice(0, -6));
}

/**
 * Days in a month of the proleptic Gregorian calendar (what `Date` uses), month 1–12. `Date.UTC` and
 * `Date.parse` roll 2024-02-31 over to 2024-03-02; checking the day against this first refuses it.
 */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** 400 Gregorian years (146,097 days): the calendar's cycle. */
const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;
const two = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1);

/**
 * The common case read without regex or Date.parse: `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with fields
 * in range. Anything else (offsets, other forms, out-of-range fields) returns null for the general path.
 */
function canonicalUtc(s: string): number | null {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 90 /* Z */ || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return null;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return null;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) {
    const d = digit(s, i);
    if (d < 0 || d > 9) return null;
  }
  const year = two(s, 0) * 100 + two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return null;
  let ms = 0;
  if (n > 20) {
    if (s.charCodeAt(19) !== 46 /* . */ || n === 21) return null;
    // Milliseconds are the first three fraction digits; further digits are below the resolution.
    for (let i = 20; i < n - 1; i++) {
      const d = digit(s, i);
      if (d < 0 || d > 9) return null;
      if (i < 23) ms += d * (i === 20 ? 100 : i === 21 ? 10 : 1);
    }
  } else if (s.charCodeAt(19) !== 90) {
    return null;
  }
  // Date.UTC reads years 0–99 as 1900–1999; 400 Gregorian years later the calendar repeats exactly.
  if (year < 100) return Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - GREGORIAN_CYCLE_MS;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/**
 * Epoch milliseconds (UTC) from an RFC 3339 / ISO 8601 string (a zone-less time is UTC; any number
 * of fractional digits), an epoch number (s, ms, µs or ns by magnitude), a numeric string, or a Date
 * (what parsers that already know the unit hand over).
 * Returns null when the value cannot be read as a time in the years 0001–9999.
 */
export function parseTimestamp(value: unknown): number | null {
  let ms: number;
  if (value instanceof Date) {
    ms = value.getTime();
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    ms = epochToMs(value);
  } else if (typeof value === 'string') {
    const fast = canonicalUtc(value);
    if (fast !== null) return fast;
    const s = value.trim();
    if (NUMERIC_RE.test(s)) {
      ms = epochToMs(Number(s));
    } else {
      const m = ISO_RE.exec(s);
      if (!m) return null;
      const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone] = m;
      if (zone === 'Z' && s.charCodeAt(10) === 84 /* T */ && m[6] !== undefined && sec !== '60') {
        // Canonical RFC 3339 UTC, what most agents send: V8 reads it as is, any fraction length.
        ms = Date.parse(s);
      } else {
        const fraction = frac === '' ? '' : `.${frac.slice(0, 3).padEnd(3, '0')}`;
        const offset = zone === undefined || zone === 'z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone.length === 3 ? `${zone}:00` : zone;
        // Date.parse refuses a leap second (:60); it is read as the first instant after :59.
        const leap = sec === '60' ? 1000 : 0;
        ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${leap ? '59' : sec}${fraction}${offset}`) + leap;
      }
      // Date.parse accepts 2024-02-31 (rolls over to 2024-03-02); a rolled-over date is a typo, not a
      // time, so the day is checked against its month before the parsed value is trusted.
      const month = Number(mo);
      if (Number.isNaN(ms) || month < 1 || month > 12 || Number(d) < 1 || Number(d) > daysInMonth(Number(y), month)) return null;
      if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 60) return null;
    }
  } else {
    return null;
  }
  if (!Number.isFinite(ms) || ms < MIN_TIMESTAMP_MS || ms > MAX_TIMESTAMP_MS) return null;
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Field lookup

export type Rec = Record<string, unknown>;

export const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A key to look for, and (numeric fields) the factor that converts its unit to the field's. */
export type Alias = string | readonly [key: string, factor: number];

/** Where each normalised field may be found in a record; dotted keys also match nested objects. */
export interface FieldAliases {
  timestamp: readonly string[];
  message: readonly string[];
  level: readonly string[];
  service: readonly string[];
  host: readonly string[];
  source: readonly string[];
  method: readonly string[];
  path: readonly string[];
  status: readonly string[];
  bytes: readonly string[];
  durationMs: readonly Alias[];
  remoteAddr: readonly string[];
  userAgent: readonly string[];
}

const HTTP_ALIASES = {
  method: ['method', 'http.method', 'http.request.method', 'request_method', 'verb'],
  path: ['path', 'http.path', 'url.path', 'http.url_details.path', 'http.target', 'request_path', 'request_uri', 'uri', 'url', 'http.url', 'url.full'],
  status: ['status', 'http.status', 'http.status_code', 'http.response.status_code', 'status_code', 'statusCode', 'response_status', 'code'],
  bytes: ['bytes', 'http.bytes', 'http.response.body.size', 'http.response_content_length', 'network.bytes_written', 'bytes_sent', 'body_bytes_sent', 'response_size', 'size'],
  durationMs: [
    'duration_ms',
    'durationMs',
    'http.duration_ms',
    'latency_ms',
    'response_time_ms',
    'elapsed_ms',
    'duration',
    ['request_time', 1000],
    ['duration_s', 1000],
    ['http.server.request.duration', 1000],
  ],
  remoteAddr: ['remote_addr', 'remoteAddr', 'remote_ip', 'client_ip', 'clientIp', 'client', 'remote', 'remotehost', 'ip', 'network.client.ip', 'client.address', 'http.client_ip'],
  userAgent: ['user_agent', 'userAgent', 'http.user_agent', 'http.useragent', 'user_agent.original', 'http_user_agent', 'agent'],
} as const;

/** The native API and JSON found inside messages: the widest set of common spellings. */
export const NATIVE_ALIASES: FieldAliases = {
  timestamp: ['timestamp', 'time', 'ts', '@timestamp', 'date', 'datetime', '_timestamp', 'eventTime'],
  message: ['message', 'msg', 'log', '@message', 'text', 'line'],
  level: ['level', 'severity', 'lvl', 'log.level', 'loglevel', 'levelname', 'severity_text'],
  service: ['service', 'service.name', 'service_name', 'app'],
  host: ['host', 'hostname', 'host.name'],
  source: ['source', 'ddsource', 'source_type'],
  ...HTTP_ALIASES,
};

/**
 * Datadog reserved and standard attributes: `status` is the log level there, HTTP status lives in
 * `http.status_code`, and `duration` is in nanoseconds.
 */
export const DATADOG_ALIASES: FieldAliases = {
  ...NATIVE_ALIASES,
  timestamp: ['timestamp', '@timestamp', '_timestamp', 'Timestamp', 'date', 'eventTime', 'published_date', 'syslog.timestamp', 'time', 'ts'],
  level: ['status', 'level', 'severity', 'syslog.severity', 'log.level', 'lvl'],
  host: ['hostname', 'host', 'syslog.hostname', 'host.name'],
  source: ['ddsource', 'source', 'source_type'],
  status: HTTP_ALIASES.status.filter((k) => k !== 'status'),
  durationMs: [['duration', 1e-6], ...HTTP_ALIASES.durationMs.filter((a) => a !== 'duration')],
};

/** OTLP attribute keys (semantic conventions first); service and host come from the resource. */
export const OTLP_ALIASES: FieldAliases = {
  ...NATIVE_ALIASES,
  timestamp: [],
  message: [],
  level: ['level', 'log.level', 'severity'],
  service: ['service.name', 'service'],
  host: ['host.name', 'host'],
  source: ['log.source', 'source'],
};

/** Loki stream labels and structured metadata. */
export const LOKI_ALIASES: FieldAliases = {
  ...NATIVE_ALIASES,
  timestamp: [],
  message: [],
  level: ['level', 'detected_level', 'severity', 'lvl', 'log_level'],
  service: ['service_name', 'service', 'app', 'application', 'app_kubernetes_io_name', 'container', 'job'],
  host: ['host', 'hostname', 'instance', 'node_name', 'nodename'],
  source: ['source', 'job', 'filename'],
};

type FieldName = keyof FieldAliases;
type Check = (v: unknown) => unknown;

/** Fields in the order they claim keys: a key that is an alias of two fields goes to the first. */
const FIELD_ORDER: readonly FieldName[] = ['timestamp', 'message', 'level', 'service', 'host', 'source', 'method', 'path', 'status', 'bytes', 'durationMs', 'remoteAddr', 'userAgent'];

interface AliasHit {
  /** Index in FIELD_ORDER. */
  field: number;
  /** Position in the field's alias list: lower wins. */
  rank: number;
  factor: number;
}

/**
 * Aliases indexed by dotted name, so a record is scanned once (a map probe per key) rather than
 * probed once per alias. `prefixes` are the dotted names under which nested objects are entered:
 * `{http: {method}}` is seen as `http.method`, like a flat `"http.method"` key.
 */
interface Plan {
  byName: Map<string, AliasHit[]>;
  prefixes: Set<string>;
}

const plans = new WeakMap<FieldAliases, Plan>();

function planOf(aliases: FieldAliases): Plan {
  const cached = plans.get(aliases);
  if (cached !== undefined) return cached;
  const plan: Plan = { byName: new Map(), prefixes: new Set() };
  FIELD_ORDER.forEach((field, f) => {
    (aliases[field] as readonly Alias[]).forEach((alias, rank) => {
      const [name, factor] = typeof alias === 'string' ? [alias, 1] : alias;
      const hits = plan.byName.get(name) ?? [];
      hits.push({ field: f, rank, factor });
      plan.byName.set(name, hits);
      for (let dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) plan.prefixes.add(name.slice(0, dot));
    });
  });
  plans.set(aliases, plan);
  return plan;
}

interface Candidate {
  rank: number;
  factor: number;
  path: string[];
  value: unknown;
  /** The key is an alias of more than one field (Loki's `job`): the first field to take it wins. */
  shared: boolean;
}

/** Every alias found in `rec`, by field; nested objects entered only under alias prefixes. */
function scan(rec: Rec, prefix: string, parent: string[], plan: Plan, out: (Candidate[] | undefined)[]): void {
  for (const key of Object.keys(rec)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    const value = rec[key];
    if (value === undefined || value === null) continue;
    const hits = plan.byName.get(name);
    if (hits !== undefined) {
      const path = parent.length === 0 ? [key] : [...parent, key];
      const shared = hits.length > 1;
      for (const hit of hits) {
        const candidate: Candidate = { rank: hit.rank, factor: hit.factor, path, value, shared };
        const bucket = out[hit.field];
        if (bucket === undefined) out[hit.field] = [candidate];
        else bucket.push(candidate);
      }
    }
    if (isRecord(value) && plan.prefixes.has(name)) scan(value, name, [...parent, key], plan, out);
  }
}

function defineKey(out: Rec, key: string, value: unknown): void {
  // A JSON `"__proto__"` key is an own data property; plain assignment would set the prototype.
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/**
 * `rec` without the taken paths: a copy (the input is never changed), nested objects copied only
 * where something was taken from them and dropped when that leaves them empty.
 */
function without(rec: Rec, taken: string[][]): Rec {
  const out: Rec = {};
  if (taken.every((p) => p.length === 1)) {
    // The common case, only top-level keys taken: no nested copies to make.
    for (const key of Object.keys(rec)) {
      let drop = false;
      for (const p of taken) if (p[0] === key) drop = true;
      if (!drop) defineKey(out, key, rec[key]);
    }
    return out;
  }
  for (const key of Object.keys(rec)) {
    let drop = false;
    let inner: string[][] | null = null;
    for (const path of taken) {
      if (path[0] !== key) continue;
      if (path.length === 1) drop = true;
      else (inner ??= []).push(path.slice(1));
    }
    if (drop) continue;
    const value = rec[key];
    if (inner !== null && isRecord(value)) {
      const rest = without(value, inner);
      if (Object.keys(rest).length > 0) defineKey(out, key, rest);
    } else {
      defineKey(out, key, value);
    }
  }
  return out;
}

const scalarString: Check = (v) =>
  typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'boolean' ? String(v) : undefined;
const anyScalar: Check = (v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined);

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && NUMERIC_RE.test(v.trim())) {
    // `"1e999"` reads as Infinity, which no numeric column or statistic can hold.
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const METHOD_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const checkMethod: Check = (v) => (typeof v === 'string' && METHOD_RE.test(v) ? v.toUpperCase() : undefined);
const checkPath: Check = (v) => (typeof v === 'string' && v.trim() !== '' && v.length <= 65_536 ? v : undefined);
const checkStatus: Check = (v) => {
  const n = toNumber(v);
  return n !== undefined && Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
};
/** `-` is Common Log Format for "no body". Beyond 2^53 a count is not exact, and 1e300 would not fit the bigint column. */
const checkBytes: Check = (v) => {
  if (v === '-') return null;
  const n = toNumber(v);
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};
const checkDuration: Check = (v) => {
  const n = toNumber(v);
  return n !== undefined && n >= 0 ? n : undefined;
};
const checkText: Check = (v) => (typeof v === 'string' && v !== '' && v !== '-' ? v : undefined);

/** Validity checks by FIELD_ORDER index. */
const CHECKS: readonly Check[] = [
  anyScalar, // timestamp
  scalarString, // message
  anyScalar, // level
  scalarString, // service
  scalarString, // host
  scalarString, // source
  checkMethod,
  checkPath,
  checkStatus,
  checkBytes,
  checkDuration,
  checkText, // remoteAddr
  checkText, // userAgent
];

const samePath = (a: string[], b: string[]): boolean => a.length === b.length && a.every((k, i) => k === b[i]);

/** The best valid candidate of one field (lowest rank), skipping shared keys already taken. */
function choose(bucket: Candidate[], field: number, taken: string[][]): Candidate | undefined {
  let best: Candidate | undefined;
  let bestValue: unknown;
  for (const c of bucket) {
    if (best !== undefined && c.rank >= best.rank) continue;
    if (c.shared && taken.some((p) => samePath(p, c.path))) continue;
    const value = CHECKS[field]!(c.value);
    if (value === undefined) continue;
    best = c;
    bestValue = value;
  }
  if (best === undefined) return undefined;
  return { ...best, value: typeof bestValue === 'number' && best.factor !== 1 ? bestValue * best.factor : bestValue };
}

/**
 * Splits a record into the normalised fields it names and the rest (attributes). Each field takes
 * the first of its aliases (in list order) whose value is valid for it; a key goes to at most one
 * field, the first in FIELD_ORDER. The input is not changed. Values are raw; `buildEvent` validates.
 */
export function extractFields(record: Rec, aliases: FieldAliases): EventFields {
  const buckets: (Candidate[] | undefined)[] = new Array<Candidate[] | undefined>(FIELD_ORDER.length).fill(undefined);
  scan(record, '', [], planOf(aliases), buckets);
  const values: unknown[] = new Array<unknown>(FIELD_ORDER.length).fill(undefined);
  const taken: string[][] = [];
  for (let f = 0; f < FIELD_ORDER.length; f++) {
    const bucket = buckets[f];
    if (bucket === undefined) continue;
    const chosen = choose(bucket, f, taken);
    if (chosen === undefined) continue;
    values[f] = chosen.value;
    taken.push(chosen.path);
  }
  return {
    timestamp: values[0],
    message: values[1],
    level: values[2],
    service: values[3],
    host: values[4],
    source: values[5],
    method: values[6],
    path: values[7],
    status: values[8],
    bytes: values[9],
    durationMs: values[10],
    remoteAddr: values[11],
    userAgent: values[12],
    attributes: without(record, taken),
  };
}

/** `primary` with its missing fields filled from `fallback`; attributes merged, `primary`'s winning. */
export function mergeFields(primary: EventFields, fallback: EventFields): EventFields {
  const out: EventFields = { ...primary };
  for (const key of FIELD_ORDER) if (out[key] === undefined) out[key] = fallback[key];
  out.attributes = { ...fallback.attributes, ...primary.attributes };
  return out;
}

/**
 * Access logs are often shipped as JSON inside the message (Fluent Bit's `line_format json`, Docker's
 * json-file `log`). When the message is a JSON object, its fields fill what the envelope lacks, and
 * its own message (if any) becomes the message.
 */
export function expandJsonMessage(fields: EventFields, aliases: FieldAliases = NATIVE_ALIASES): EventFields {
  const msg = fields.message;
  if (typeof msg !== 'string' || msg.length < 2) return fields;
  const trimmed = msg.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return fields;
  let inner: unknown;
  try {
    inner = JSON.parse(trimmed);
  } catch {
    return fields;
  }
  if (!isRecord(inner)) return fields;
  const innerFields = extractFields(inner, aliases);
  return mergeFields({ ...fields, message: innerFields.message ?? msg }, innerFields);
}

// ---------------------------------------------------------------------------------------------
// Building and validating

function identity(name: string, v: unknown, fallback: string | undefined): { value: string | null } | { reason: string } {
  const s = v === undefined || v === null || v === '' ? fallback : scalarString(v);
  if (s === undefined || s === '') return { value: null };
  if (typeof s !== 'string') return { reason: `${name}: expected a string` };
  if (s.length > MAX_IDENTITY_LENGTH) return { reason: `${name}: longer than ${MAX_IDENTITY_LENGTH} characters` };
  return { value: s };
}

/** Re-checks a field value that a line parser (not `extractFields`) produced. */
function checked(v: unknown, check: Check): unknown {
  return v === undefined || v === null ? null : (check(v) ?? null);
}

/**
 * Validates raw fields into a normalised event, or says why it cannot be one.
 * `defaults` fill service/host/source the event does not name.
 */
export function buildEvent(fields: EventFields, receivedAt: number, defaults: EventDefaults = {}): BuildResult {
  let timestamp = receivedAt;
  if (fields.timestamp !== undefined && fields.timestamp !== null && fields.timestamp !== '') {
    const ts = parseTimestamp(fields.timestamp);
    if (ts === null) {
      return { ok: false, reason: `timestamp: cannot read ${preview(fields.timestamp)} as RFC 3339 or epoch seconds/milliseconds` };
    }
    timestamp = ts;
  }
  const service = identity('service', fields.service, defaults.service);
  if ('reason' in service) return { ok: false, reason: service.reason };
  const host = identity('host', fields.host, defaults.host);
  if ('reason' in host) return { ok: false, reason: host.reason };
  const source = identity('source', fields.source, defaults.source);
  if ('reason' in source) return { ok: false, reason: source.reason };

  const method = checked(fields.method, checkMethod) as string | null;
  const rawPath = checked(fields.path, checkPath) as string | null;
  const status = checked(fields.status, checkStatus) as number | null;
  const bytes = checked(fields.bytes, checkBytes) as number | null;
  const durationMs = checked(fields.durationMs, checkDuration) as number | null;
  const remoteAddr = checked(fields.remoteAddr, checkText) as string | null;
  const userAgent = checked(fields.userAgent, checkText) as string | null;

  // extractFields already made the attributes a copy of the input; copy again only to add to them.
  let attributes: Rec = fields.attributes ?? {};
  let path: string | null = null;
  let section: string | null = null;
  if (rawPath !== null) {
    path = pathOf(rawPath);
    section = sectionOfPath(path);
    const q = rawPath.indexOf('?');
    if (q >= 0 && attributes['url.query'] === undefined) {
      // The fragment starts at the first `#`. Found with indexOf: `/#.*$/` retried from every `#`
      // when a line break followed, quadratic in the path's length.
      const query = rawPath.slice(q + 1);
      const hash = query.indexOf('#');
      attributes = { ...attributes, 'url.query': hash < 0 ? query : query.slice(0, hash) };
    }
  }

  const hasHttp = method !== null || path !== null || status !== null;
  let message: string;
  if (typeof fields.message === 'string') message = fields.message;
  else if (fields.message !== undefined && fields.message !== null) message = String(scalarString(fields.message) ?? '');
  else if (hasHttp) message = [method, rawPath, status].filter((p) => p !== null).join(' ');
  else return { ok: false, reason: 'event has neither a message nor HTTP fields (method, path, status)' };

  return {
    ok: true,
    event: {
      timestamp,
      receivedAt,
      service: service.value,
      host: host.value,
      source: source.value,
      level: normaliseLevel(fields.level),
      message,
      method,
      path,
      section,
      status,
      bytes,
      durationMs,
      remoteAddr,
      userAgent,
      attributes,
    },
  };
}

/** A short, safe rendering of a bad value for an error message. */
export function preview(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
