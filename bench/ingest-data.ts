/**
 * The events the ingest bench sends, in two shapes, pre-rendered once for both targets: Vigil's
 * JSON ingest API and InfluxDB's line protocol. Only the timestamps are written at send time, so the
 * client costs the same (and little: it shares the 2-core machine with the server it measures)
 * whichever target it loads.
 *
 * Invariants:
 * - Both renderings of an event carry the same values, and the same millisecond timestamp.
 * - Generation is deterministic (seeded PRNG): every run, and both targets, send the same events in
 *   the same order.
 * - In line protocol every event is a distinct point (see `nsSuffix`): InfluxDB keeps one point per
 *   series and timestamp, and the bench checks that every acknowledged event was stored once.
 */
import { formatPoint } from '../src/domains/stream/influx/line-protocol.js';
import { prng, weighted } from './support.js';

export const EVENTS_PER_REQUEST = 1000;

export const SHAPES = ['few', 'many'] as const;
export type Shape = (typeof SHAPES)[number];

/** Sizes of the `many` shape: client-IP-like / pod-like hosts as when pods come and go, and no `source`. */
export const MANY_HOSTS = 250_000;
export const MANY_PATHS = 100_000;
export const MANY_CLIENTS = 100_000;
/** Enough payloads that every one of the MANY_HOSTS hosts is in one of them (at most 1000 payloads: see `nsSuffix`). */
export const MANY_MIN_PAYLOADS = Math.ceil(MANY_HOSTS / EVENTS_PER_REQUEST) + 6;

const SERVICES = ['web', 'api', 'checkout', 'search', 'auth'];
const FEW_HOSTS = Array.from({ length: 50 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}.eu-west-1`);
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'okhttp/4.12.0',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
];
/** [value, weight]: mostly reads, mostly 2xx, a tail of redirects and errors. */
const METHODS: [string, number][] = [['GET', 80], ['POST', 12], ['PUT', 4], ['DELETE', 2], ['PATCH', 1], ['HEAD', 1]];
const STATUSES: [number, number][] = [[200, 80], [201, 4], [204, 4], [301, 1], [302, 2], [304, 3], [400, 1], [401, 1], [403, 0.5], [404, 2], [429, 0.5], [500, 0.5], [502, 0.3], [503, 0.2]];


/**
 * One request's worth of events, minus their timestamps, so a body can be stamped with the current
 * time at send. Pre-stamped payloads replayed for 20 s would arrive ever later in event time and
 * exercise the late-event path instead of the normal one.
 */
export interface Template {
  /** What follows the timestamp value in each JSON event: `{"timestamp":"<ISO>` + json[i]. */
  json: string[];
  /** Each event's line-protocol line up to its timestamp: lines[i] + `<ms>` (+ nsSuffix) + `\n`. */
  lines: string[];
  /** How long before the send each event happened: about one second of traffic, slightly out of order. */
  lagMs: Int32Array;
  /** The `host` of each event (shared strings), to count how many distinct hosts a run sent. */
  hosts: string[];
}

export interface ShapeData {
  shape: Shape;
  description: string;
  templates: Template[];
  /** Distinct values in the generated data (over all templates). */
  distinct: { hosts: number; sourceKeys: number; paths: number; clients: number; series: number };
}

/** The InfluxDB point of an access-log event: tags for what one groups by, fields for the rest. */
interface AccessEvent {
  service: string;
  host: string;
  source?: string;
  remote_addr: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  duration_ms: number;
  user_agent: string;
}

/** The line up to (not including) its timestamp. */
function lineHead(e: AccessEvent): string {
  const line = formatPoint({
    measurement: 'access',
    tags: { service: e.service, host: e.host, method: e.method, status: String(e.status), source: e.source },
    fields: { path: e.path, remote_addr: e.remote_addr, user_agent: e.user_agent, bytes: BigInt(e.bytes), duration_ms: e.duration_ms },
    timestamp: 0,
  });
  // formatPoint ends the line with ` 0`, the placeholder timestamp: keep the space, drop the 0.
  return line!.slice(0, -1);
}

/**
 * Access-log events as Vector's http sink (json codec) sends them after parsing nginx logs:
 * high-cardinality paths (ids, asset hashes, search terms) and client addresses.
 * - few: 50 hosts, source "nginx", ~100k client addresses drawn at random.
 * - many: MANY_HOSTS hosts and no source (so the per-source key, `source ?? host`, takes as many
 *   values), MANY_PATHS paths and MANY_CLIENTS client addresses. Each of these is a shuffled pool
 *   walked in order over the events of all payloads, so the data holds every value, and a run that
 *   sends N events sends min(N, pool size) distinct ones.
 */
export function generate(shape: Shape, payloads: number): ShapeData {
  const rnd = prng(42);
  const int = (n: number) => Math.floor(rnd() * n);
  const hex = (len: number) => Array.from({ length: len }, () => '0123456789abcdef'[int(16)]).join('');
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const method = weighted(rnd, METHODS);
  const status = weighted(rnd, STATUSES);
  const address = () => (rnd() < 0.1 ? `2001:db8:${hex(4)}::${hex(4)}` : `${1 + int(223)}.${int(256)}.${int(256)}.${1 + int(254)}`);
  const pathMakers: (() => string)[] = [
    () => `/api/users/${int(1_000_000)}/orders/${int(10_000_000)}`,
    () => `/api/v2/items/${int(500_000)}`,
    () => `/static/${hex(12)}.${rnd() < 0.7 ? 'js' : 'css'}`,
    () => `/img/products/${int(200_000)}/${pick(['thumb', 'large', 'zoom'])}.webp`,
    () => `/products/${pick(['shoes', 'shirts', 'bags', 'hats', 'watches'])}-${int(100_000)}`,
    () => `/search?q=${pick(['red', 'blue', 'sale', 'new', 'gift'])}+${int(5000)}&page=${1 + int(20)}`,
    () => pick(['/', '/login', '/logout', '/cart', '/checkout', '/account', '/healthz', '/favicon.ico']),
  ];
  const pathOf = weighted(rnd, pathMakers.map((p, i) => [p, [30, 15, 20, 10, 12, 8, 5][i]!]));
  /** `size` distinct values from `make`, in random order. */
  const pool = (size: number, make: () => string): string[] => {
    const values = new Set<string>();
    while (values.size < size) values.add(make());
    return [...values];
  };

  let hostOf: (j: number) => string;
  let clientOf: (j: number) => string;
  let pathFor: (j: number) => string;
  let source: string | undefined;
  let description: string;
  if (shape === 'few') {
    const clients = Array.from({ length: 100_000 }, address);
    hostOf = () => pick(FEW_HOSTS);
    clientOf = () => pick(clients);
    pathFor = () => pathOf()();
    source = 'nginx';
    description = `${FEW_HOSTS.length} hosts, source "nginx", ~100k client addresses in remote_addr`;
  } else {
    // Client-IP-like hosts (a sender filling `host` per request) and pod-like ones (pods that come and go).
    const hosts = pool(MANY_HOSTS, () => (rnd() < 0.6 ? `10.${int(256)}.${int(256)}.${int(256)}` : `${pick(SERVICES)}-${hex(9)}-${hex(5)}`));
    const clients = pool(MANY_CLIENTS, address);
    const paths = pool(MANY_PATHS, () => pathOf()());
    hostOf = (j) => hosts[j % hosts.length]!;
    clientOf = (j) => clients[j % clients.length]!;
    pathFor = (j) => paths[j % paths.length]!;
    source = undefined;
    description = `${MANY_HOSTS.toLocaleString('en-US')} client-IP/pod-like hosts, no source, ${MANY_PATHS.toLocaleString('en-US')} paths, ${MANY_CLIENTS.toLocaleString('en-US')} client addresses`;
  }

  const seen = { hosts: new Set<string>(), sourceKeys: new Set<string>(), paths: new Set<string>(), clients: new Set<string>(), series: new Set<string>() };
  const templates = Array.from({ length: payloads }, (_, k): Template => {
    const json: string[] = [];
    const lines: string[] = [];
    const hosts: string[] = [];
    const lagMs = new Int32Array(EVENTS_PER_REQUEST);
    for (let i = 0; i < EVENTS_PER_REQUEST; i++) {
      const j = k * EVENTS_PER_REQUEST + i;
      const code = status();
      const verb = method();
      lagMs[i] = Math.round((1 - i / EVENTS_PER_REQUEST) * 1000 + rnd() * 500);
      const event: AccessEvent = {
        service: pick(SERVICES),
        host: hostOf(j),
        ...(source ? { source } : {}),
        remote_addr: clientOf(j),
        method: verb,
        path: pathFor(j),
        status: code,
        bytes: code === 204 || code === 304 || verb === 'HEAD' ? 0 : Math.round(Math.exp(5 + rnd() * 7)),
        duration_ms: Math.round(Math.exp(rnd() * 6.5) * 1000) / 1000,
        user_agent: pick(AGENTS),
      };
      // `{"service":…}` → `","service":…}`: what follows the timestamp value.
      json.push(`",${JSON.stringify(event).slice(1)}`);
      const head = lineHead(event);
      lines.push(head);
      hosts.push(event.host);
      seen.hosts.add(event.host);
      seen.sourceKeys.add(event.source ?? event.host);
      seen.paths.add(event.path);
      seen.clients.add(event.remote_addr);
      // The series key: everything before the first unescaped space (tags never hold one unescaped).
      seen.series.add(head.slice(0, head.search(/(?<!\\) /)));
    }
    return { json, lines, lagMs, hosts };
  });
  const distinct = { hosts: seen.hosts.size, sourceKeys: seen.sourceKeys.size, paths: seen.paths.size, clients: seen.clients.size, series: seen.series.size };
  return { shape, description, templates, distinct };
}

/** Distinct hosts in the first `requests` payloads sent, cycling as the load does. */
export function distinctHostsSent(templates: Template[], requests: number): number {
  const hosts = new Set<string>();
  for (let k = 0; k < Math.min(requests, templates.length); k++) for (const h of templates[k]!.hosts) hosts.add(h);
  return hosts.size;
}

const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const MILLIS = PAD3.map((s) => `.${s}Z`);

/**
 * A JSON request body from a template, every event timestamped relative to `now`. The ISO text is
 * put together from a per-second prefix: a `toISOString()` per event made the bench client cost a
 * tenth of a core, taken from the server it measures.
 */
export function stampJson(template: Template, now: number): string {
  let body = '[';
  let second = Number.NaN;
  let prefix = '';
  for (let i = 0; i < template.json.length; i++) {
    const ts = now - template.lagMs[i]!;
    const s = Math.floor(ts / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 19);
    }
    body += `${i ? ',' : ''}{"timestamp":"${prefix}${MILLIS[ts - s * 1000]}${template.json[i]}`;
  }
  return `${body}]`;
}

export type Precision = 'ms' | 'ns';

/**
 * The sub-millisecond digits of event i of payload k in nanosecond precision: `kkkiii`, unique per
 * event of the data (with at most 1000 payloads). InfluxDB identifies a point by series and
 * timestamp, so in millisecond precision two events of one series in the same millisecond are one
 * point, the later overwriting the earlier, and acknowledged events go missing; Vigil keeps both.
 * The millisecond stays the one Vigil gets.
 */
function nsSuffix(payload: number, i: number): string {
  return `${PAD3[payload % 1000]}${PAD3[i]}`;
}

/** A line-protocol body (for `/write?precision=<precision>`) from template number `payload`, stamped like `stampJson`. */
export function stampLines(template: Template, payload: number, now: number, precision: Precision): string {
  let body = '';
  for (let i = 0; i < template.lines.length; i++) {
    body += `${template.lines[i]}${now - template.lagMs[i]!}${precision === 'ns' ? nsSuffix(payload, i) : ''}\n`;
  }
  return body;
}
