import { z } from 'zod';

/**
 * One schema for every setting, read from the environment and overridden by CLI flags.
 * Parsed once at start; a bad value stops the process with a message naming the variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

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
  /** First retry delay of a failed notification; each later one doubles (with jitter), capped at 1 h. */
  VIGIL_NOTIFY_RETRY_BASE_MS: z.coerce.number().int().min(1).default(5000),
  /** Attempts per notification before it is marked failed. */
  VIGIL_NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  VIGIL_SMTP_URL: z.string().optional(),
  VIGIL_SMTP_FROM: z.string().default('Vigil <vigil@localhost>'),
  /** Days raw log events stay in the hot (PostgreSQL) store. */
  VIGIL_HOT_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  VIGIL_SECURE_COOKIES: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(public readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
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
