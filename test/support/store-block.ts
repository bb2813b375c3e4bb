import { afterAll, beforeAll, it } from 'vitest';
import type { Store } from '../../src/platform/store/index.js';
import { freshStore, storeAvailable, type StoreKind } from './server.js';

/**
 * For a `describe.each(STORE_KINDS)` block: a fresh migrated store of `kind` made before the
 * block's tests and closed after them, and `run`, which skips a test where the kind is unavailable
 * (no TEST_DATABASE_URL). `store()` is the store, once the block's tests run.
 */
export function freshStoreForBlock(kind: StoreKind): { run: ReturnType<typeof it.skipIf>; store: () => Store } {
  let store: Store | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    ({ store, close } = await freshStore(kind));
  }, 60_000);
  afterAll(async () => close?.());
  return {
    run: it.skipIf(!storeAvailable(kind)),
    store: () => {
      if (!store) throw new Error(`no ${kind} store: freshStoreForBlock's tests run only where the kind is available`);
      return store;
    },
  };
}
