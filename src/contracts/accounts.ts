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
  platform_admin: z.boolean().describe('Whether the caller administers the platform (creates organisations)'),
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

// --- organisations (platform administrators) ----------------------------------------------------

/**
 * The roles of an organisation's users as the organisation and member routes name them:
 * `admin` manages members and keys, `analyst` reads and changes monitoring, `read-only` reads.
 * `analyst` is the stored role `member` (the name API keys and `/api/v1/me` still use), so old
 * data stays valid.
 */
export const userRole = z.enum(['admin', 'analyst', 'read-only']);
export type UserRole = z.infer<typeof userRole>;

export const orgParams = z.object({ id: z.string().uuid() });
/** `POST /api/v1/orgs`, `PATCH /api/v1/orgs/:id`. */
export const orgInput = z.object({ name: z.string().trim().min(1).max(200) });
export const orgView = z.object({
  id: z.string(),
  name: z.string(),
  created_at: z.string(),
  members: z.number().int().describe('How many users belong to it'),
});
export type OrgView = z.infer<typeof orgView>;
export const orgList = z.object({ orgs: z.array(orgView) });

// --- members and invitations -------------------------------------------------------------------

export const memberParams = z.object({ id: z.string().uuid(), userId: z.string().uuid() });
export const invitationParams = z.object({ id: z.string().uuid(), invitationId: z.string().uuid() });

export const memberView = z.object({
  user_id: z.string(),
  email: z.string(),
  role: userRole,
  platform_admin: z.boolean(),
  created_at: z.string(),
});
export type MemberView = z.infer<typeof memberView>;

export const invitationView = z.object({
  id: z.string(),
  email: z.string(),
  role: userRole,
  invited_by: z.string(),
  created_at: z.string(),
  expires_at: z.string(),
});
export type InvitationView = z.infer<typeof invitationView>;

export const memberList = z.object({ members: z.array(memberView), invitations: z.array(invitationView).describe('Pending (not accepted, not expired, not revoked)') });
export type MemberList = z.infer<typeof memberList>;

/** `POST /api/v1/orgs/:id/members`: a user with an initial password (they may change it later). */
export const memberInput = z.object({ email: z.string().email().max(320), role: userRole.default('analyst'), password: z.string().min(8).max(1024) });
/** `PATCH /api/v1/orgs/:id/members/:userId`. */
export const memberRoleInput = z.object({ role: userRole });

/** `POST /api/v1/orgs/:id/invitations`. */
export const invitationInput = z.object({ email: z.string().email().max(320), role: userRole.default('analyst') });
export const createdInvitation = invitationView.extend({
  emailed: z.boolean().describe('Whether the link was sent by e-mail (VIGIL_SMTP_URL set and the server accepted it)'),
  email_error: z.string().nullable().describe('Why it was not sent, if it was not'),
  url: z.string().nullable().describe('The invitation link, for the administrator to pass on; null when it was e-mailed (only the recipient gets it)'),
});
export type CreatedInvitation = z.infer<typeof createdInvitation>;

/** `POST /api/v1/invitations/accept`: open to anyone holding the token; sets the session cookies. */
export const acceptInvitationInput = z.object({ token: z.string().min(10).max(200), password: z.string().min(8).max(1024) });
export const acceptedInvitation = z.object({ ok: z.literal(true), email: z.string(), org: z.object({ id: z.string(), name: z.string() }) });

// --- admin action log --------------------------------------------------------------------------

export const adminActionQuery = z.object({
  org_id: z.string().uuid().optional().describe('Platform administrators: only this organisation'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  before: z.coerce.number().int().min(1).optional().describe('Page back: only actions with a smaller id'),
});
export const adminActionView = z.object({
  id: z.number().int(),
  at: z.string(),
  org_id: z.string().nullable(),
  actor: z.string().describe('Who: user:<e-mail>, api-key:<name>, or cli'),
  action: z.string().describe('What, e.g. org.create, member.role, api_key.revoke, invitation.accept'),
  target: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AdminActionView = z.infer<typeof adminActionView>;
export const adminActionList = z.object({ actions: z.array(adminActionView) });
