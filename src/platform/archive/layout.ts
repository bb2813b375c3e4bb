/**
 * Where archive files live: `<dir>/org=<orgId>/day=<YYYY-MM-DD>/part-<nnnnn>.parquet`.
 *
 * Hive-style `key=value` folders let DuckDB (`read_parquet('<dir>/*\/*\/*.parquet', hive_partitioning = true)`),
 * Spark or pyarrow datasets read the whole archive and prune by org and day from the path alone. Files
 * being written are hidden dot-files ending in `.tmp`, so no reader's `*.parquet` glob ever sees them.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { badRequest } from '../errors.js';

export const DAY_MS = 86_400_000;

/** Organisation ids end up in paths: only characters that cannot climb out of the archive directory. */
const ORG_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const PART_RE = /^part-(\d{5,})\.parquet$/;
const DAY_DIR_RE = /^day=(\d{4}-\d{2}-\d{2})$/;
export const TEMP_RE = /^\.part-\d+\..+\.tmp$/;

export function checkOrgId(orgId: string): string {
  if (!ORG_RE.test(orgId)) throw badRequest(`archive: invalid organisation id ${JSON.stringify(orgId.slice(0, 80))}`);
  return orgId;
}

/** Start of a UTC day in epoch ms, or an error for anything but a real `YYYY-MM-DD` date. */
export function dayStart(day: string): number {
  const ms = DAY_RE.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN;
  // Date.parse rolls 2024-02-31 over to March; a date that does not print back the same is not a date.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) throw badRequest(`archive: invalid day ${JSON.stringify(day)} (expected YYYY-MM-DD)`);
  return ms;
}

/** The UTC day (`YYYY-MM-DD`) an instant falls in. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export const orgDir = (dir: string, orgId: string): string => join(dir, `org=${checkOrgId(orgId)}`);
export const dayDir = (dir: string, orgId: string, day: string): string => join(orgDir(dir, orgId), `day=${day}`);
export const partName = (part: number): string => `part-${String(part).padStart(5, '0')}.parquet`;

export interface PartEntry {
  day: string;
  part: number;
  path: string;
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Directory entries, or none when the directory does not exist (an org or day never archived). */
export async function entries(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** Part numbers present in a day folder, ascending. */
export async function partsIn(path: string): Promise<number[]> {
  const parts: number[] = [];
  for (const name of await entries(path)) {
    const m = PART_RE.exec(name);
    if (m) parts.push(Number(m[1]));
  }
  return parts.sort((a, b) => a - b);
}

/**
 * The archive's files for an organisation, by day then part, optionally only days in
 * [fromDay, toDay] (inclusive, `YYYY-MM-DD` strings compare in date order). Only the path is read here.
 */
export async function partsOf(dir: string, orgId: string, fromDay?: string, toDay?: string): Promise<PartEntry[]> {
  const root = orgDir(dir, orgId);
  const days: string[] = [];
  for (const name of await entries(root)) {
    const m = DAY_DIR_RE.exec(name);
    const day = m?.[1];
    if (day === undefined) continue;
    if ((fromDay !== undefined && day < fromDay) || (toDay !== undefined && day > toDay)) continue;
    days.push(day);
  }
  days.sort();
  const out: PartEntry[] = [];
  for (const day of days) {
    const folder = join(root, `day=${day}`);
    for (const part of await partsIn(folder)) out.push({ day, part, path: join(folder, partName(part)) });
  }
  return out;
}
