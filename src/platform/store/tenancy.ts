/**
 * Whose data a piece of work may touch (issue 10, tenant isolation by row-level security).
 *
 * Invariants:
 * - Every connection the store hands out runs as the role `vigil_app` (never the owner, never a
 *   superuser; system work as `vigil_system`, below), set to the context of the work that took it (see session.ts): `vigil.org_id` =
 *   the organisation of `asOrg`, or `vigil.bypass = on` under `asSystem`. Row-level security
 *   (migration 018) then shows and accepts only that organisation's rows.
 * - Work in no context sees no tenant row (deny). An HTTP request opens a scope with no tenant
 *   (`inRequestScope`) and the auth guard sets its organisation (`enterOrg`) once the key or
 *   session is known; an unauthenticated request therefore sees nothing unless a route declares a
 *   bypass for a lookup of its own.
 * - The context is read when a connection is taken: a transaction keeps the context it began with.
 * - System work runs as `vigil_system` where migration 019 could make it (a superuser owner):
 *   BYPASSRLS, a member of `vigil_app` with no rights of its own. Its rows are every organisation's
 *   anyway, and without the policy the planner sees plain queries (the policy's OR made it guess a
 *   handful of rows) and COPY writes tenant tables directly. Elsewhere it is `vigil_app` with the
 *   bypass setting, as organisation work and work in no context always are.
 *
 * The narrow, documented bypass — every `asSystem` reason in the application (a new one is added
 * to this table with the call):
 *
 * | where                                   | why it crosses organisations                                     |
 * |-----------------------------------------|------------------------------------------------------------------|
 * | accounts/accounts.ts authenticateApiKey | find the API key a request brings, to learn its organisation     |
 * | accounts/accounts.ts authenticateSession| find the session a request brings, to learn its organisation     |
 * | accounts/http.ts log in, log out        | find a user by e-mail / a session by cookie before anyone is known |
 * | accounts/http.ts invitation accept      | find an invitation by its token before anyone is known           |
 * | accounts/http.ts `administering`        | a platform administrator manages every organisation (admin.ts checks the actor; an organisation's own admins stay in their organisation) |
 * | jobs/http/ping.ts                       | a ping names its check by uuid or ping key only                  |
 * | jobs/ping-writer.ts                     | group commit: one batch holds pings of several organisations     |
 * | jobs/http/badge.ts                      | a public badge names its checks by badge key only                |
 * | jobs/sweeper.ts                         | deadlines of every organisation's checks                         |
 * | stream/processor.ts                     | the log stream carries every organisation's events (and its checkpoint) |
 * | stream/influx/sink.ts                   | copies every organisation's statistics                           |
 * | rules/evaluator.ts                      | evaluates every organisation's rules on one watermark (and hands leases over) |
 * | alerting/worker.ts flusher and live     | group timers and live alert state of every organisation          |
 * | notify/outbox-worker.ts                 | delivers every organisation's outbox                             |
 * | logs/retention.ts                       | archives and drops whole daily partitions                        |
 * | server/runtime.ts start-up              | bootstrap the first organisation and admin; can anyone log in    |
 * | cli/operator.ts (org, user, watcher)    | the operator's commands act on the whole installation            |
 * | fraud/detector.ts                       | evaluates every organisation's new shipments (one arrivals queue) |
 * | watchers/worker.ts                      | a watched table holds rows of several organisations              |
 * | watchers/http.ts                        | platform administrators manage every watcher (verbs.ts checks the actor) |
 *
 * Migrations run as the owner (session.ts `asOwner`), not through this table.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Why a path crosses organisations: a short sentence, listed in the table above. */
export type SystemReason = string;

export type TenantContext = { kind: 'org'; orgId: string } | { kind: 'system'; reason: SystemReason };

/** A scope's tenant; mutable only for an open scope (a request before it is authenticated). */
interface Scope {
  tenant: TenantContext | undefined;
  readonly open: boolean;
}

const context = new AsyncLocalStorage<Scope>();

/** Runs `fn` on behalf of one organisation: only its rows are visible. */
export function asOrg<T>(orgId: string, fn: () => Promise<T>): Promise<T> {
  return context.run({ tenant: { kind: 'org', orgId }, open: false }, fn);
}

/** Runs `fn` across organisations (a documented bypass of row-level security; list it above). */
export function asSystem<T>(reason: SystemReason, fn: () => Promise<T>): Promise<T> {
  return context.run({ tenant: { kind: 'system', reason }, open: false }, fn);
}

/** The context of the current piece of work, if one was declared. */
export function currentTenant(): TenantContext | undefined {
  return context.getStore()?.tenant;
}

/** Whether the current work runs in any scope at all (a request, a worker, asOrg/asSystem). */
export function inAnyScope(): boolean {
  return context.getStore() !== undefined;
}

/** An opaque handle on the current scope, to re-enter it where an event loses it (see the server). */
export type ScopeHandle = object;

/**
 * Runs `fn` (and whatever it schedules) in a new scope with no tenant yet: an HTTP request, whose
 * organisation is known once authenticated (`enterOrg`). Returns the handle of the scope.
 */
export function inRequestScope(fn: (scope: ScopeHandle) => void): void {
  const scope: Scope = { tenant: undefined, open: true };
  context.run(scope, () => fn(scope));
}

/** Runs `fn` again inside the scope of `handle` (body parsing runs outside it, in the socket's events). */
export function reenterScope(handle: ScopeHandle, fn: () => void): void {
  context.run(handle as Scope, fn);
}

/**
 * Sets the organisation of the current request scope (the auth guard, once credentials are known).
 * Outside a request scope it does nothing: the caller already runs in a declared context.
 * A scope never changes organisation: a second, different one is a bug and throws.
 */
export function enterOrg(orgId: string): void {
  const scope = context.getStore();
  if (!scope?.open) return;
  if (scope.tenant && !(scope.tenant.kind === 'org' && scope.tenant.orgId === orgId)) {
    throw new Error('tenancy: a request scope cannot change organisation');
  }
  scope.tenant = { kind: 'org', orgId };
}
