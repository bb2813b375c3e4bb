import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partitionable } from './store.js';
import { hotRowToStored, type HotRow } from './event.js';
import { archiveDirOf, choosePart, expiredPartitions, isExpired, partitionDay, staleExports, type OrgRows } from './retention-plan.js';

const DAY = 86_400_000;
const at = (iso: string) => Date.parse(iso);

describe('partitionDay', () => {
  it('reads the day of a partition name and nothing else', () => {
    expect(partitionDay('log_events_p20240501')).toBe('2024-05-01');
    expect(partitionDay('log_events_p20240230')).toBeNull(); // no such day
    expect(partitionDay('log_events')).toBeNull();
    expect(partitionDay('log_events_p2024050')).toBeNull();
    expect(partitionDay('log_events_p20240501_old')).toBeNull();
    expect(partitionDay('traffic_counts')).toBeNull();
  });
});

describe('isExpired and expiredPartitions', () => {
  it('expires a day once its end is at least the hot window in the past', () => {
    const now = at('2024-05-31T12:00:00Z');
    // Hot window of 30 days: the cut-off is 2024-05-01T12:00Z; 2024-04-30 ended before it, 2024-05-01 did not.
    expect(isExpired('2024-04-30', now, 30)).toBe(true);
    expect(isExpired('2024-05-01', now, 30)).toBe(false);
    // Exactly at the boundary: the day ended at the cut-off, nothing in it can still be accepted.
    expect(isExpired('2024-05-01', at('2024-06-01T00:00:00Z'), 30)).toBe(true);
  });

  it('never expires a day into which ingest still accepts events', () => {
    for (const hotDays of [1, 7, 30]) {
      for (let now = at('2024-05-31T00:00:00Z'); now < at('2024-06-02T00:00:00Z'); now += 3_600_000 + 17) {
        const cutoff = now - hotDays * DAY;
        const oldestAccepted = partitionable([{ timestamp: cutoff } as never], { hotDays, now }).accepted.length === 1;
        expect(oldestAccepted).toBe(true);
        expect(isExpired(new Date(cutoff).toISOString().slice(0, 10), now, hotDays)).toBe(false);
      }
    }
  });

  it('lists expired day partitions oldest first, attached or left detached, ignoring other tables', () => {
    const tables = [
      { table: 'log_events_p20240502', attached: true },
      { table: 'log_events_p20240501', attached: true },
      { table: 'log_events_p20240420', attached: false },
      { table: 'log_events_p20240530', attached: true },
      { table: 'log_events_pxyz', attached: true },
    ];
    expect(expiredPartitions(tables, at('2024-06-01T00:00:00Z'), 30)).toEqual([
      { table: 'log_events_p20240420', attached: false, day: '2024-04-20' },
      { table: 'log_events_p20240501', attached: true, day: '2024-05-01' },
    ]);
  });
});

describe('archiveDirOf', () => {
  it('uses VIGIL_ARCHIVE_DIR, else the data directory, else a temporary folder for an in-memory store', () => {
    expect(archiveDirOf({ VIGIL_ARCHIVE_DIR: '/srv/cold', VIGIL_DATA_DIR: '/srv/vigil' })).toBe('/srv/cold');
    expect(archiveDirOf({ VIGIL_ARCHIVE_DIR: undefined, VIGIL_DATA_DIR: './.vigil' })).toBe(resolve('.vigil', 'archive'));
    expect(archiveDirOf({ VIGIL_ARCHIVE_DIR: undefined, VIGIL_DATA_DIR: 'memory://' })).toBe(join(tmpdir(), `vigil-archive-${process.pid}`));
  });
});

describe('choosePart', () => {
  it('writes part 0 for a first export', () => {
    expect(choosePart([], '17')).toEqual({ part: 0, replace: false });
  });

  it('replaces the file of an earlier export of the same rows (a run that crashed before the drop)', () => {
    expect(choosePart([{ part: 0, firstId: '17' }], '17')).toEqual({ part: 0, replace: true });
    expect(choosePart([{ part: 0, firstId: '5' }, { part: 1, firstId: '17' }], '17')).toEqual({ part: 1, replace: true });
  });

  it('adds a part for a day that was archived before and recreated since, never touching the older file', () => {
    expect(choosePart([{ part: 0, firstId: '5' }], '900')).toEqual({ part: 1, replace: false });
    expect(choosePart([{ part: 0, firstId: undefined }, { part: 3, firstId: '5' }], '900')).toEqual({ part: 4, replace: false });
  });
});

describe('staleExports', () => {
  const org = (orgId: string, rows: number, firstId: string): OrgRows => ({ orgId, rows, firstId });

  it('names organisations whose rows changed between export and detach, and ones not exported at all', () => {
    const exported = new Map([
      ['a', org('a', 10, '1')],
      ['b', org('b', 5, '3')],
    ]);
    expect(staleExports(exported, [org('a', 10, '1'), org('b', 5, '3')])).toEqual([]);
    expect(staleExports(exported, [org('a', 11, '1'), org('b', 5, '3'), org('c', 1, '99')])).toEqual([org('a', 11, '1'), org('c', 1, '99')]);
  });
});

describe('hotRowToStored', () => {
  const row: HotRow = {
    id: '123',
    ts: new Date('2024-05-01T10:00:00.123Z'),
    received_at: new Date('2024-05-01T10:00:01Z'),
    service: 'web',
    host: null,
    source: 'nginx',
    level: 'info',
    message: 'GET /api 200',
    method: 'GET',
    path: '/api',
    section: '/api',
    status: 200,
    bytes: '512',
    duration_ms: 1.5,
    remote_addr: '10.0.0.1',
    user_agent: null,
    attributes: { a: 1 },
    too_late: true,
  };

  it('maps the columns to the archive row, bigints as numbers and ids as text', () => {
    expect(hotRowToStored(row)).toEqual({
      timestamp: at('2024-05-01T10:00:00.123Z'),
      receivedAt: at('2024-05-01T10:00:01Z'),
      service: 'web',
      host: null,
      source: 'nginx',
      level: 'info',
      message: 'GET /api 200',
      method: 'GET',
      path: '/api',
      section: '/api',
      status: 200,
      bytes: 512,
      durationMs: 1.5,
      remoteAddr: '10.0.0.1',
      userAgent: null,
      attributes: { a: 1 },
      id: '123',
      tooLate: true,
    });
    expect(hotRowToStored({ ...row, id: 9007199254740993n, bytes: 7n, attributes: '{"b":[1]}' })).toMatchObject({ id: '9007199254740993', bytes: 7, attributes: { b: [1] } });
  });
});
