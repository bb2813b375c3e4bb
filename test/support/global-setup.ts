import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migratedTemplate } from '../../src/platform/store/index.js';

/**
 * Runs once before the test workers start: builds one migrated PGlite data directory so each
 * in-memory test server starts from a copy in well under a second instead of running initdb.
 */
export default async function setup(): Promise<() => void> {
  const path = join(tmpdir(), `vigil-test-pglite-${process.pid}.tar`);
  writeFileSync(path, Buffer.from(await (await migratedTemplate()).arrayBuffer()));
  process.env.VIGIL_TEST_PGLITE_TEMPLATE = path;
  return () => rmSync(path, { force: true });
}
