/**
 * The archive's organisations as folders: which ones hold files, and removing one whole (an
 * organisation an administrator removed takes its archive with it).
 */
import { rm } from 'node:fs/promises';
import { entries, orgDir } from './layout.js';

const ORG_DIR_RE = /^org=(.+)$/;

/** Organisation ids with a folder in the archive (an org never archived has none). */
export async function archivedOrgIds(dir: string): Promise<string[]> {
  return (await entries(dir)).flatMap((name) => {
    const m = ORG_DIR_RE.exec(name);
    return m ? [m[1]!] : [];
  });
}

/** Deletes an organisation's archive folder and every file in it; nothing when it has none. */
export async function removeOrgArchive(dir: string, orgId: string): Promise<void> {
  await rm(orgDir(dir, orgId), { recursive: true, force: true });
}
