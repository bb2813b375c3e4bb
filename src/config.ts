import { availableParallelism } from 'node:os';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/**
 * One schema for every setting, read from the environment and overridden by CLI flags.
 * Parsed once at start; a bad value stops the process with a message naming the variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** proxy-addr's names for whole ranges, accepted in VIGIL_TRUSTED_PROXIES besides addresses and CIDRs. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** A comma-separated list of proxy addresses / CIDRs (or range names); each entry is checked so a typo stops the start. */
const proxyList = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const entries = v.split(',').map((e) => e.trim()).filter(Boolean);
    for (const entry of entries) {
      const valid = PROXY_RANGE_NAMES.includes(entry) || ipaddr.isValid(entry) || (entry.includes('/') && isCidr(entry));
      if (!valid) ctx.addIssue({ code: 'custom', message: `${entry} is not an IP address, a CIDR (10.0.0.0/8) or one of ${PROXY_RANGE_NAMES.join(', ')}` });
    }
    return entries;
  });

function isCidr(entry: string): boolean {
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}

/** What a process runs (`vigil start --role`, VIGIL_ROLES); not a user's role in an organisation (accounts). */
export const PROCESS_ROLES = ['web', 'ingest', 'process', 'notify'] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  VIGIL_DATA_DIR: z.string().default('./.vigil'),
  DATABASE_URL: z.string().url().optional(),
  VIGIL_BASE_URL: z.string().url().optional(),
  VIGIL_ADMIN_EMAIL: z.string().email().optional(),
  VIGIL_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  VIGIL_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  VIGIL_ORG_NAME: z.string().min(1).default('Default'),
  VIGIL_ALLOW_PRIVATE_WEBHOOKS: bool.default(false),
  VIGIL_PING_BODY_LIMIT: z.coerce.number().int().min(0).default(100_000),
  VIGIL_SWEEP_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  VIGIL_NOTIFY_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  /** How often alert groups whose timers ran out are flushed, and changed alerts pushed to dashboards. */
  VIGIL_ALERT_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  /**
   * Fraud detector: shipments evaluated per transaction (bounds one transaction's work and locks).
   * As large as the largest intake request (100,000): each chunk's history queries read the
   * entities' history again, so five chunks of 20,000 read the same rows five times (bench:
   * history 5.3 s → 2.7 s).
   */
  VIGIL_FRAUD_CHUNK: z.coerce.number().int().min(1).max(1_000_000).default(100_000),
  /**
   * Fraud detector: concurrent lanes (transactions over shares of the organisations). Two per core
   * of this kind of machine: smaller transactions overlap Node's evaluation with PostgreSQL's writes
   * better, and the slowest lane (which the bulk waits for) holds less (bench, 100,000 shipments,
   * alternated runs: 4 lanes 5.9–6.6 s, median 6.4; 2 lanes 6.3–7.6 s, median 6.9). Each lane holds
   * one of the pool's ten connections while it works.
   */
  VIGIL_FRAUD_LANES: z.coerce.number().int().min(1).max(16).default(4),
  /** Retry schedule of failed notifications (see domains/notify/backoff.ts): first delay, doubling up to the cap, given up after about this long. */
  VIGIL_NOTIFY_RETRY_BASE_MS: z.coerce.number().int().min(1).default(5000),
  VIGIL_NOTIFY_RETRY_CAP_MS: z.coerce.number().int().min(1).default(3_600_000),
  VIGIL_NOTIFY_GIVE_UP_AFTER_MS: z.coerce.number().int().min(0).default(86_400_000),
  /** A channel is disabled after this many failed delivery attempts in a row spanning at least this long (see domains/notify/channel-health.ts). */
  VIGIL_NOTIFY_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(1).default(20),
  VIGIL_NOTIFY_DISABLE_AFTER_MS: z.coerce.number().int().min(0).default(43_200_000),
  VIGIL_SMTP_URL: z.string().optional(),
  VIGIL_SMTP_FROM: z.string().default('Vigil <vigil@localhost>'),
  /** Days raw log events stay in the hot (PostgreSQL) store. */
  VIGIL_HOT_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Where partitions older than VIGIL_HOT_DAYS are exported as Parquet. Default: <VIGIL_DATA_DIR>/archive. */
  VIGIL_ARCHIVE_DIR: z.string().optional(),
  /** Log-traffic rules: event time the evaluator catches up after an outage, at most; beyond it, it skips ahead (and logs it). */
  VIGIL_RULES_OUTAGE_TOLERANCE_MS: z.coerce.number().int().min(1000).default(3_600_000),
  /** Log-traffic rules: how far behind the wall clock evaluation follows an organisation whose live data stopped (absence rules). */
  VIGIL_RULES_IDLE_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /** Log-traffic rules: instances (group-by values) one rule may have; beyond it the rule is marked in error. */
  VIGIL_RULES_MAX_INSTANCES: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Log-traffic rules: how often the evaluator looks for newly final seconds. */
  VIGIL_RULES_INTERVAL_MS: z.coerce.number().int().min(50).default(500),
  /** How often the retention job looks for partitions to archive and statistics to prune. */
  VIGIL_RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
  /**
   * What this process does (comma-separated): web (dashboard + API), ingest (log ingest + pings),
   * process (stream processor, deadline sweeper, retention, InfluxDB sink), notify (notifier).
   * Default: all of them. Split roles need NATS_URL (ingest and process meet on the bus) and PostgreSQL.
   */
  VIGIL_ROLES: z
    .string()
    .default('all')
    .transform((v, ctx) => {
      const names = v.split(',').map((r) => r.trim()).filter(Boolean);
      if (names.includes('all')) return [...PROCESS_ROLES];
      const unknown = names.filter((n) => !(PROCESS_ROLES as readonly string[]).includes(n));
      if (unknown.length || names.length === 0) {
        ctx.addIssue({ code: 'custom', message: `unknown role ${unknown.join(', ') || '(none)'}; use all or a comma-separated list of ${PROCESS_ROLES.join(', ')}` });
        return z.NEVER;
      }
      return names as ProcessRole[];
    }),
  /** NATS server(s) for the event bus (JetStream). Unset: the in-process bus. */
  NATS_URL: z.string().optional(),
  /** JetStream stream holding Vigil's topics; its subjects are `<name in lower case>.<topic>`. Separate Vigils on one NATS use separate names. */
  VIGIL_NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (a JetStream stream name)').default('VIGIL'),
  /** Allowed out-of-orderness: the watermark trails the newest event time of a source by this much. */
  VIGIL_STATS_OUT_OF_ORDER_MS: z.coerce.number().int().min(0).default(5000),
  /** Events later than this behind the watermark are stored but not counted (too late). */
  VIGIL_STATS_LATENESS_MS: z.coerce.number().int().min(0).default(300_000),
  /** A source that sent nothing for this long (by arrival time) stops holding the watermark back. */
  VIGIL_STATS_IDLE_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Watermark sources tracked per organisation; new sources beyond it are folded into one (README "Traffic statistics"). */
  VIGIL_STATS_MAX_SOURCES: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** InfluxDB base URL for the rolled-up traffic metrics (off when unset). */
  VIGIL_INFLUX_URL: z.string().url().optional(),
  /** InfluxDB 1.x database (v1 /write). */
  VIGIL_INFLUX_DB: z.string().optional(),
  /** InfluxDB 2.x organisation, bucket and token (v2 /api/v2/write). */
  VIGIL_INFLUX_ORG: z.string().optional(),
  VIGIL_INFLUX_BUCKET: z.string().optional(),
  VIGIL_INFLUX_TOKEN: z.string().optional(),
  /** Always mark session cookies Secure; they are anyway whenever the request came over HTTPS. */
  VIGIL_SECURE_COOKIES: bool.default(false),
  /**
   * Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or CIDRs).
   * Default none: the client address is the peer of the TCP connection, so no client can choose
   * the address that login throttling and ping records see.
   */
  VIGIL_TRUSTED_PROXIES: proxyList,
  /**
   * Longest time a client may take to send a whole request (headers and body). Stops clients that
   * trickle a body byte by byte from holding connections (and their buffers) for minutes.
   */
  VIGIL_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  /**
   * Worker threads that decode log ingest bodies (JSON parsing, decompression, normalisation) off
   * the main thread; 0 decodes them inline. Default: one fewer than the cores, at least one.
   * Small bodies are always decoded inline (a hop to a thread costs more than it saves).
   */
  VIGIL_DECODE_THREADS: z.coerce.number().int().min(0).max(64).default(Math.max(1, availableParallelism() - 1)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(public readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Settings that existed once and are ignored now, with what replaced them (told at start, so a deployment that sets one learns it). */
const RETIRED_SETTINGS: Record<string, string> = {
  VIGIL_NOTIFY_MAX_ATTEMPTS: 'retries are bounded by time now: VIGIL_NOTIFY_GIVE_UP_AFTER_MS (default 24 h) and VIGIL_NOTIFY_RETRY_CAP_MS (default 1 h)',
};

/** One warning per retired setting present in `env`. */
export function retiredSettingsIn(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(RETIRED_SETTINGS)
    .filter(([name]) => env[name] !== undefined && env[name] !== '')
    .map(([name, instead]) => `${name} is no longer used and is ignored: ${instead}`);
}

/**
 * One setting from `env`, checked and defaulted by the schema as `loadConfig` does (a bad value is
 * a ConfigError naming it): for tools that read a setting or two of the server's (the benches)
 * without requiring every other one to be valid.
 */
export function loadSetting<K extends keyof Config>(key: K, env: NodeJS.ProcessEnv = process.env): Config[K] {
  const raw = env[key];
  const parsed = configSchema.shape[key].safeParse(raw === '' ? undefined : raw);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${[key, ...i.path].join('.')}: ${i.message}`));
  return parsed.data as Config[K];
}

/** Parses settings from `env` (defaults to process.env) with `overrides` (CLI flags) on top. */
export function loadConfig(
  overrides: Partial<Record<keyof Config, string | number | boolean | undefined>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const fromEnv = env[key];
    if (fromEnv !== undefined && fromEnv !== '') raw[key] = fromEnv;
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[key] = typeof value === 'string' ? value : String(value);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return parsed.data;
}
