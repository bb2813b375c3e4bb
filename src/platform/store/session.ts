/**
 * Sets every connection the store hands out to the tenant context of the work taking it (see
 * tenancy.ts for the model, migration 018 for the policies).
 *
 * Each connection remembers what it was last set to; a checkout under the same context costs
 * nothing, a change costs one round trip (`set_config` × 3 in one statement). Settings are
 * session-level, not `SET LOCAL`: they are re-checked at every checkout, so a connection is always
 * set to its borrower's context, and statements outside a transaction need no BEGIN around them.
 *
 * Modes of a connection:
 * - `app`: role `vigil_app` with the organisation, the bypass, or nothing (deny) set.
 * - `owner`: the connecting user's own role with the bypass on — migrations only (`asOwner`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { currentTenant, inAnyScope } from './tenancy.js';

/** The role the application runs as (created by migration 018). */
const APP_ROLE = 'vigil_app';
/** What system work runs as when migration 019 could make it (BYPASSRLS, the application's rights). */
const SYSTEM_ROLE = 'vigil_system';
/** How long a database without the system role is believed to have none (migrations may add it). */
const NO_SYSTEM_ROLE_RECHECK_MS = 10_000;

/**
 * What work outside any scope (no request, worker, asOrg or asSystem) gets:
 * - `deny` (the application): no tenant row; the first such query is logged with its stack.
 * - `system`: the bypass — for tests that seed and inspect rows directly, and nothing else.
 */
export type Untenanted = 'deny' | 'system';

interface SessionOptions {
  untenanted?: Untenanted | undefined;
  /** Told once of a query that ran outside any scope under `deny` (with the stack that ran it). */
  onUntenanted?: ((stack: string) => void) | undefined;
}

interface Settings {
  key: string;
  role: string;
  orgId: string;
  bypass: 'on' | 'off';
}

const owner = new AsyncLocalStorage<true>();

/** Runs `fn` as the database owner with every row visible: migrations, nothing else. */
export function asOwner<T>(fn: () => Promise<T>): Promise<T> {
  return owner.run(true, fn);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a connection taken now must be set to. */
function wantedSettings(options: SessionOptions): Settings {
  if (owner.getStore()) return { key: 'owner', role: 'none', orgId: '', bypass: 'on' };
  const tenant = currentTenant();
  if (tenant?.kind === 'org') {
    // A malformed id would make every policy fail with a cast error; no such organisation exists.
    const orgId = UUID.test(tenant.orgId) ? tenant.orgId : '00000000-0000-0000-0000-000000000000';
    return { key: `org:${orgId}`, role: APP_ROLE, orgId, bypass: 'off' };
  }
  if (tenant?.kind === 'system' || (!inAnyScope() && options.untenanted === 'system')) return { key: 'system', role: APP_ROLE, orgId: '', bypass: 'on' };
  if (!inAnyScope()) reportUntenanted(options);
  return { key: 'none', role: APP_ROLE, orgId: '', bypass: 'off' };
}

let reported = false;
function reportUntenanted(options: SessionOptions): void {
  if (reported || !options.onUntenanted) return;
  reported = true;
  options.onUntenanted(new Error('query outside any tenant context').stack ?? '');
}

type Query = (text: string, values: unknown[]) => Promise<unknown>;

/** Sets a connection to `wanted` unless `current` says it already is; returns the new state. */
async function applySettings(query: Query, current: string | undefined, wanted: Settings): Promise<string> {
  if (current === wanted.key) return current;
  await query(`SELECT set_config('role', $1, false), set_config('vigil.org_id', $2, false), set_config('vigil.bypass', $3, false)`, [wanted.role, wanted.orgId, wanted.bypass]);
  return wanted.key;
}

/**
 * Wraps a pool so that every connection it lends is set for the borrower's context. `perClient`:
 * connections of a real pool are distinct (the state is kept per client object); PGlite's "pool"
 * is one connection behind new client objects (the state is kept once).
 */
export class TenantPool implements PostgresPool {
  private readonly state = new WeakMap<object, string>();
  private single: string | undefined;

  constructor(
    private readonly inner: PostgresPool,
    private readonly options: SessionOptions,
    private readonly perClient: boolean,
  ) {}

  /** Whether the system role can be taken: true is kept, false is asked again after a while. */
  private systemRole: { ok: boolean; at: number } | undefined;

  private async systemRoleUsable(query: Query): Promise<boolean> {
    const known = this.systemRole;
    if (known && (known.ok || Date.now() - known.at < NO_SYSTEM_ROLE_RECHECK_MS)) return known.ok;
    const result = (await query(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${SYSTEM_ROLE}' AND rolbypassrls)
         THEN pg_has_role(session_user, '${SYSTEM_ROLE}', 'MEMBER') ELSE false END AS ok`,
      [],
    )) as { rows: { ok: boolean }[] };
    const ok = result.rows[0]?.ok === true;
    this.systemRole = { ok, at: Date.now() };
    return ok;
  }

  async connect(): Promise<PostgresPoolClient> {
    const wanted = wantedSettings(this.options);
    const client = await this.inner.connect();
    try {
      await this.prepare(client, wanted);
    } catch (error) {
      // Its state is unknown: a pg client is discarded (release(true)), PGlite's is simply freed.
      (client.release as (destroy?: boolean) => void)(true);
      throw error;
    }
    return client;
  }

  /** Sets an already borrowed client (COPY paths hold their own pg client). */
  async prepare(client: PostgresPoolClient, wanted = wantedSettings(this.options)): Promise<void> {
    const query: Query = (text, values) => client.query(text, values);
    // System work as the role row-level security does not apply to, when there is one: plain
    // plans (no policy OR for the planner to guess at) and COPY straight into tenant tables.
    if (wanted.key === 'system' && (await this.systemRoleUsable(query))) wanted = { ...wanted, key: 'system-role', role: SYSTEM_ROLE };
    const current = this.perClient ? this.state.get(client) : this.single;
    if (current === wanted.key) return;
    // Unknown until the statement succeeds: a failure leaves it to be set again next time.
    if (this.perClient) this.state.delete(client);
    else this.single = undefined;
    const next = await applySettings(query, current, wanted);
    if (this.perClient) this.state.set(client, next);
    else this.single = next;
  }

  end(): Promise<void> {
    return this.inner.end();
  }
}
