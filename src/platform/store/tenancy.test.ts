import { describe, expect, it } from 'vitest';
import { asOrg, asSystem, currentTenant, enterOrg, inAnyScope, inRequestScope, reenterScope, type ScopeHandle } from './tenancy.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

/** Runs `fn` in a request scope and resolves with what it returns, and the scope's handle. */
const inRequest = <T>(fn: (scope: ScopeHandle) => Promise<T>) =>
  new Promise<T>((resolve, reject) => inRequestScope((scope) => void fn(scope).then(resolve, reject)));

describe('tenancy context', () => {
  it('is nothing outside any scope, and what asOrg / asSystem declare inside, through awaits and timers', async () => {
    expect(inAnyScope()).toBe(false);
    expect(currentTenant()).toBeUndefined();
    await asOrg(A, async () => {
      await new Promise((r) => setTimeout(r, 1));
      expect(currentTenant()).toEqual({ kind: 'org', orgId: A });
      await asSystem('test', async () => expect(currentTenant()).toEqual({ kind: 'system', reason: 'test' }));
      // The nested bypass ends with its function.
      expect(currentTenant()).toEqual({ kind: 'org', orgId: A });
    });
    expect(currentTenant()).toBeUndefined();
  });

  it('a request scope starts without a tenant; authentication sets it for the rest of the request', async () => {
    await inRequest(async (scope) => {
      expect(inAnyScope()).toBe(true);
      expect(currentTenant()).toBeUndefined();
      // A lookup under the bypass does not leak it into the request.
      await asSystem('find the key', async () => undefined);
      enterOrg(A);
      expect(currentTenant()).toEqual({ kind: 'org', orgId: A });
      enterOrg(A); // the same organisation again is fine
      expect(() => enterOrg(B)).toThrow(/cannot change organisation/);
      // Re-entered from elsewhere (after body parsing), the scope still has its organisation.
      await new Promise<void>((resolve) => setImmediate(() => reenterScope(scope, () => {
        expect(currentTenant()).toEqual({ kind: 'org', orgId: A });
        resolve();
      })));
    });
  });

  it('enterOrg outside a request scope changes nothing (the work already runs in a declared context)', async () => {
    await asSystem('worker', async () => {
      enterOrg(A);
      expect(currentTenant()).toEqual({ kind: 'system', reason: 'worker' });
    });
    enterOrg(A);
    expect(currentTenant()).toBeUndefined();
  });
});
