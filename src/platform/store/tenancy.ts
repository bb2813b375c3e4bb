/**
 * Whose data a piece of work may touch (issue 10, tenant isolation by row-level security).
 *
 * STUB laid down before the row-level-security work: it records the context only. Callers already
 * declare it — `asOrg(orgId, fn)` for work on behalf of one organisation, `asSystem(reason, fn)`
 * for the narrow cross-organisation paths (ping lookup by uuid, sweepers, processor, detector) —
 * and the store will set it on every connection it hands out.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Why a path crosses organisations; each value is documented where it is used. */
export type SystemReason = string;

export type TenantContext = { kind: 'org'; orgId: string } | { kind: 'system'; reason: SystemReason };

const context = new AsyncLocalStorage<TenantContext>();

/** Runs `fn` on behalf of one organisation: only its rows are visible. */
export function asOrg<T>(orgId: string, fn: () => Promise<T>): Promise<T> {
  return context.run({ kind: 'org', orgId }, fn);
}

/** Runs `fn` across organisations (a documented bypass of row-level security). */
export function asSystem<T>(reason: SystemReason, fn: () => Promise<T>): Promise<T> {
  return context.run({ kind: 'system', reason }, fn);
}

/** The context of the current piece of work, if one was declared. */
export function currentTenant(): TenantContext | undefined {
  return context.getStore();
}
