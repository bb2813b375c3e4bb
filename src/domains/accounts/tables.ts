import type { Generated, JSONColumnType } from 'kysely';
import type { MemberRole } from '../../contracts/accounts.js';
import type { BigSerial, NullableTimestamp, Timestamp } from '../../platform/store/index.js';

/**
 * The accounts domain's tables, as Kysely sees them (the SQL in platform/store/migrations is the
 * source of truth). Only this domain's store module (`store.ts`) queries them, through `ownTables<AccountsTables>`.
 */


/** What a user or API key may do in its organisation (the process role of `--role` is another thing: `ProcessRole`). */
export type { MemberRole };

export interface OrgsTable {
  id: string;
  name: string;
  ping_key: string;
  created_at: Generated<Date>;
}
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: Generated<Date>;
  /** Manages customer organisations (see 013_platform_admin.sql). */
  platform_admin: Generated<boolean>;
}
export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: MemberRole;
}
export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  role: MemberRole;
  created_at: Generated<Date>;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  platform_admin: Generated<boolean>;
}
export interface SessionsTable {
  token_hash: string;
  user_id: string;
  org_id: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}
export interface LoginThrottleTable {
  account: string;
  failures: number;
  locked_until: NullableTimestamp;
  last_attempt_at: Timestamp;
}

export interface InvitationsTable {
  id: string;
  org_id: string;
  email: string;
  role: MemberRole;
  token_hash: string;
  invited_by: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}
/** Append-only; `org_id` null for platform-wide actions, and kept after the organisation is removed. */
export interface AdminActionsTable {
  id: BigSerial;
  at: Generated<Date>;
  org_id: string | null;
  actor: string;
  action: string;
  target: string;
  details: JSONColumnType<Record<string, unknown>>;
}

export interface AccountsTables {
  orgs: OrgsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  api_keys: ApiKeysTable;
  sessions: SessionsTable;
  login_throttle: LoginThrottleTable;
  invitations: InvitationsTable;
  admin_actions: AdminActionsTable;
}
