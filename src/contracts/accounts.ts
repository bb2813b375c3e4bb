import { z } from 'zod';

/**
 * Accounts routes: log-in sessions, who am I, API keys, users. Request and response schemas shared
 * by the server (validation, serialization, OpenAPI) and the web app (types, parsing).
 */

/** What a member of an organisation (a user or an API key) may do: read-only < member < admin. */
export const memberRole = z.enum(['admin', 'member', 'read-only']);
export type MemberRole = z.infer<typeof memberRole>;

// --- session -----------------------------------------------------------------------------------

/** `POST /api/v1/session`. Bounded so that nobody can make the server hash megabytes. */
export const loginRequest = z.object({ email: z.string().email().max(320), password: z.string().min(1).max(1024) });
export const loginAnswer = z.object({ ok: z.literal(true) });

/** `GET /api/v1/me`. */
export const me = z.object({
  org: z.object({ id: z.string(), name: z.string(), ping_key: z.string() }),
  role: memberRole,
  via: z.enum(['api-key', 'session']).describe('How this request authenticated'),
  user: z.object({ id: z.string(), email: z.string().optional() }).nullable().describe('The logged-in user; null for an API key'),
});
export type Me = z.infer<typeof me>;

// --- API keys ----------------------------------------------------------------------------------

export const apiKeyParams = z.object({ id: z.string().uuid() });

/** `POST /api/v1/api-keys`. */
export const apiKeyInput = z.object({ name: z.string().min(1).max(100), role: memberRole.default('member') });

/** A key as listed: its secret is never shown again. */
export const apiKeyView = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().describe('The first characters of the key, to recognise it'),
  role: memberRole,
  created_at: z.string(),
  last_used_at: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof apiKeyView>;
export const apiKeyList = z.object({ api_keys: z.array(apiKeyView) });

/** The create answer: the only one that carries the key itself. */
export const createdApiKey = z.object({
  id: z.string(),
  name: z.string(),
  role: memberRole,
  key: z.string().describe('The secret, shown in this answer only'),
  prefix: z.string(),
});
export type CreatedApiKey = z.infer<typeof createdApiKey>;

// --- users -------------------------------------------------------------------------------------

/** `POST /api/v1/users`. */
export const userInput = z.object({ email: z.string().email(), password: z.string().min(8), role: memberRole.default('member') });
export const createdUser = z.object({ id: z.string(), email: z.string(), role: memberRole });
export type CreatedUser = z.infer<typeof createdUser>;
