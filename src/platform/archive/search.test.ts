import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchArchive, writeArchiveFile, type ArchiveQuery, type ArchiveRow } from './index.js';
import { sampleRow } from './sample.js';

const ORG = 'org-search';
const HOUR = 3_600_000;
const days = ['2024-05-01', '2024-05-02', '2024-05-03'];
const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`);

/** Every archived row with its place in the archive's total order. */
interface Placed {
  row: ArchiveRow;
  day: string;
  part: number;
  index: number;
}

let dir: string;
const placed: Placed[] = [];

/**
 * Three days; two or three parts per day whose times overlap; some parts written in time order, some
 * shuffled; small row groups so pruning and early stopping are exercised; a burst of equal timestamps
 * across parts so ties are ordered by (day, part, row).
 */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-archive-search-'));
  let seed = 1;
  const rand = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
  for (const day of days) {
    const base = dayMs(day);
    for (let part = 0; part < (day === days[1] ? 3 : 2); part++) {
      const rows = Array.from({ length: 120 + part * 40 }, (_, i) => {
        const r = sampleRow(i + part * 1000, base);
        const ts = i % 10 === 0 ? base + 12 * HOUR : base + Math.floor(rand() * 86_400_000);
        return { ...r, timestamp: ts, receivedAt: ts + 5, message: i % 9 === 0 ? `Timeout talking to Zürich #${i}` : r.message };
      });
      if (part === 0) rows.sort((a, b) => a.timestamp - b.timestamp);
      const result = await writeArchiveFile(dir, { orgId: ORG, day, rows, rowGroupSize: 23 });
      rows.forEach((row, index) => placed.push({ row, day, part: result.part, index }));
    }
  }
  // Another organisation's rows must never show up.
  await writeArchiveFile(dir, { orgId: 'org-other', day: days[0]!, rows: [sampleRow(1, dayMs(days[0]!))] });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expected(query: Omit<ArchiveQuery, 'limit' | 'cursor'>): ArchiveRow[] {
  const desc = (query.order ?? 'desc') === 'desc';
  const q = query.q?.toLowerCase();
  return placed
    .filter(({ row }) => {
      if (row.timestamp < query.from || row.timestamp >= query.to) return false;
      if (q !== undefined && !row.message.toLowerCase().includes(q)) return false;
      if (query.service !== undefined && row.service !== query.service) return false;
      if (query.section !== undefined && row.section !== query.section) return false;
      if (typeof query.status === 'number' && row.status !== query.status) return false;
      if (typeof query.status === 'string') {
        const low = Number(query.status[0]) * 100;
        if (row.status === null || row.status < low || row.status >= low + 100) return false;
      }
      return true;
    })
    .sort((a, b) => {
      const c = a.row.timestamp - b.row.timestamp || a.day.localeCompare(b.day) || a.part - b.part || a.index - b.index;
      return desc ? -c : c;
    })
    .map((p) => p.row);
}

async function allPages(query: ArchiveQuery): Promise<{ rows: ArchiveRow[]; pages: number }> {
  const rows: ArchiveRow[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await searchArchive(dir, ORG, { ...query, ...(cursor === undefined ? {} : { cursor }) });
    pages++;
    expect(page.rows.length).toBeLessThanOrEqual(query.limit);
    rows.push(...page.rows);
    if (page.nextCursor === null) return { rows, pages };
    expect(page.rows.length).toBe(query.limit);
    cursor = page.nextCursor;
  }
}

describe('searchArchive', () => {
  const start = dayMs(days[0]!);
  const end = dayMs(days[2]!) + 86_400_000;

  it('returns the newest rows first across days and parts, and pages through all of them', async () => {
    const first = await searchArchive(dir, ORG, { from: start, to: end, limit: 10 });
    expect(first.rows).toEqual(expected({ from: start, to: end }).slice(0, 10));
    expect(first.nextCursor).not.toBeNull();
    const { rows, pages } = await allPages({ from: start, to: end, limit: 97 });
    expect(rows).toEqual(expected({ from: start, to: end }));
    expect(rows.length).toBe(placed.length);
    expect(pages).toBe(Math.ceil(placed.length / 97));
  });

  it('orders oldest first on request, ties broken by day, part and row', async () => {
    const noon = dayMs(days[1]!) + 12 * HOUR;
    const { rows } = await allPages({ from: noon, to: noon + 1, limit: 4, order: 'asc' });
    expect(rows.length).toBeGreaterThan(8);
    expect(rows).toEqual(expected({ from: noon, to: noon + 1, order: 'asc' }));
  });

  it('filters by case-insensitive message text, service, section and status (exact or class)', async () => {
    const base = { from: start, to: end, limit: 1_000 };
    const byText = await searchArchive(dir, ORG, { ...base, q: 'TIMEOUT talking to ZÜRICH' });
    expect(byText.rows.length).toBeGreaterThan(0);
    expect(byText.rows).toEqual(expected({ ...base, q: 'TIMEOUT talking to ZÜRICH' }));
    // Characters that mean something in a pattern are plain text here.
    expect((await searchArchive(dir, ORG, { ...base, q: '.*' })).rows).toEqual([]);
    for (const filter of [{ service: 'svc-1' }, { section: '/api' }, { status: 404 }, { status: '5xx' as const }, { service: 'svc-2', status: '2xx' as const }]) {
      const result = await searchArchive(dir, ORG, { ...base, ...filter });
      expect(result.rows).toEqual(expected({ ...base, ...filter }));
    }
  });

  it('reads only the files of the days the range touches, and stops after the row groups it needs', async () => {
    const day2 = dayMs(days[1]!);
    const result = await searchArchive(dir, ORG, { from: day2, to: day2 + 86_400_000, limit: 5 });
    expect(result.rows).toEqual(expected({ from: day2, to: day2 + 86_400_000 }).slice(0, 5));
    expect(result.scanned.files).toBeLessThanOrEqual(3);

    // A large file written in time order: the newest page is answered from its last row group alone.
    const big = '2024-06-01';
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ ...sampleRow(i, dayMs(big)), timestamp: dayMs(big) + i * 1000 }));
    await writeArchiveFile(dir, { orgId: 'org-big', day: big, rows, rowGroupSize: 1_000 });
    const page = await searchArchive(dir, 'org-big', { from: dayMs(big), to: dayMs(big) + 86_400_000, limit: 50 });
    expect(page.rows.map((r) => r.timestamp)).toEqual(rows.slice(-50).reverse().map((r) => r.timestamp));
    expect(page.scanned).toEqual({ files: 1, rowGroups: 1, rows: 1_000 });
  });

  it('agrees with a brute-force filter for random queries, pages and orders', async () => {
    const instant = fc.integer({ min: start - HOUR, max: end + HOUR });
    await fc.assert(
      fc.asyncProperty(
        instant,
        instant,
        fc.record(
          {
            q: fc.constantFrom('zürich', 'ok', 'GET', '🚚', '#1'),
            service: fc.constantFrom('svc-0', 'svc-1', 'none'),
            status: fc.constantFrom<number | '2xx' | '4xx' | '5xx'>(200, 404, '2xx', '4xx', '5xx'),
            section: fc.constant('/api'),
          },
          { requiredKeys: [] },
        ),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
        async (a, b, filters, limit, order) => {
          fc.pre(a !== b);
          const query = { from: Math.min(a, b), to: Math.max(a, b), ...filters, order };
          const { rows } = await allPages({ ...query, limit });
          expect(rows).toEqual(expected(query));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects invalid queries and cursors with a 400', async () => {
    const base = { from: start, to: end, limit: 10 };
    const bad = [
      { ...base, to: start },
      { ...base, limit: 0 },
      { ...base, limit: 10_001 },
      { ...base, cursor: 'not-a-cursor' },
      { ...base, cursor: Buffer.from('{"o":"d","ts":"x"}').toString('base64url') },
    ];
    for (const query of bad) await expect(searchArchive(dir, ORG, query)).rejects.toMatchObject({ code: 'bad_request' });
    const page = await searchArchive(dir, ORG, base);
    await expect(searchArchive(dir, ORG, { ...base, order: 'asc', cursor: page.nextCursor! })).rejects.toThrow(/other order/);
    await expect(searchArchive(dir, '../x', base)).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('finds nothing for an organisation or range with no files', async () => {
    expect((await searchArchive(dir, 'org-none', { from: start, to: end, limit: 10 })).rows).toEqual([]);
    const result = await searchArchive(dir, ORG, { from: Date.UTC(2030, 0, 1), to: Date.UTC(2030, 0, 2), limit: 10 });
    expect(result).toEqual({ rows: [], nextCursor: null, scanned: { files: 0, rowGroups: 0, rows: 0 } });
    // Extreme bounds are clamped rather than breaking the day arithmetic.
    expect((await searchArchive(dir, ORG, { from: -8.64e15, to: 8.64e15, limit: 1 })).rows).toEqual(expected({ from: start, to: end }).slice(0, 1));
  });
});
