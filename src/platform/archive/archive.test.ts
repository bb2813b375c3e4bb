import { httpStatusOf } from '../http/errors.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../errors.js';
import { listArchive, readArchiveFile, sweepArchiveTemp, writeArchiveFile, type ArchiveRow } from './index.js';
import { sampleRow } from './sample.js';

const ORG = '3f1c2a9e-8d4b-4c1a-9e2f-0a1b2c3d4e5f';
const DAY = '2024-03-10';
const DAY0 = Date.UTC(2024, 2, 10);
const makeRow = (i: number, dayStartMs = DAY0): ArchiveRow => sampleRow(i, dayStartMs);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-archive-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* slowly(rows: ArchiveRow[], failAfter?: number): AsyncGenerator<ArchiveRow> {
  for (let i = 0; i < rows.length; i++) {
    if (i === failAfter) throw new Error('source broke');
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    yield rows[i]!;
  }
}

// That ArchiveRow is the log domain's stored event is checked where the domain declares it
// (domains/logs/event.ts): the platform does not know the domains.
describe('writeArchiveFile', () => {
  it('round-trips rows exactly: nulls, unicode, int64, doubles, JSON attributes, several row groups', async () => {
    const rows = Array.from({ length: 2_500 }, (_, i) => makeRow(i));
    const result = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows, rowGroupSize: 1_000 });
    expect(result).toMatchObject({ path: join(dir, `org=${ORG}`, `day=${DAY}`, 'part-00000.parquet'), day: DAY, part: 0, rows: 2_500 });
    expect(result.bytes).toBe((await readFile(result.path)).length);
    expect(result.minTs).toBe(Math.min(...rows.map((r) => r.timestamp)));
    expect(result.maxTs).toBe(Math.max(...rows.map((r) => r.timestamp)));
    expect(await collect(readArchiveFile(result.path))).toEqual(rows);
  });

  it('streams an async source and numbers parts in order', async () => {
    const rows = Array.from({ length: 1_200 }, (_, i) => makeRow(i));
    const a = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: slowly(rows), rowGroupSize: 500 });
    const b = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: rows.slice(0, 10) });
    expect([a.part, b.part]).toEqual([0, 1]);
    expect(await collect(readArchiveFile(a.path))).toEqual(rows);
    expect(await collect(readArchiveFile(b.path))).toEqual(rows.slice(0, 10));
  });

  it('writes Parquet logical types and statistics that standard readers understand', async () => {
    const rows = Array.from({ length: 3_000 }, (_, i) => makeRow(i)).sort((x, y) => x.timestamp - y.timestamp);
    const { path } = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows, rowGroupSize: 1_000 });
    const bytes = await readFile(path);
    // The container: magic at both ends, footer length just before the trailing magic.
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
    expect(bytes.subarray(-4).toString('latin1')).toBe('PAR1');
    expect(bytes.readUInt32LE(bytes.length - 8)).toBeLessThan(bytes.length);

    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const byName = new Map(meta.schema.slice(1).map((e) => [e.name, e]));
    expect([...byName.keys()]).toEqual([
      'org_id', 'ts', 'received_at', 'service', 'host', 'source', 'level', 'message', 'method', 'path', 'section',
      'status', 'bytes', 'duration_ms', 'remote_addr', 'user_agent', 'attributes', 'too_late', 'id',
    ]);
    for (const name of ['ts', 'received_at']) {
      expect(byName.get(name)).toMatchObject({
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
        repetition_type: 'REQUIRED',
      });
    }
    for (const name of ['org_id', 'message']) expect(byName.get(name)).toMatchObject({ type: 'BYTE_ARRAY', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' });
    for (const name of ['service', 'host', 'source', 'level', 'method', 'path', 'section', 'remote_addr', 'user_agent']) {
      expect(byName.get(name)).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'OPTIONAL' });
    }
    expect(byName.get('status')).toMatchObject({ type: 'INT32', repetition_type: 'OPTIONAL' });
    expect(byName.get('bytes')).toMatchObject({ type: 'INT64', repetition_type: 'OPTIONAL' });
    expect(byName.get('duration_ms')).toMatchObject({ type: 'DOUBLE', repetition_type: 'OPTIONAL' });
    expect(byName.get('attributes')).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' });
    expect(byName.get('too_late')).toMatchObject({ type: 'BOOLEAN', repetition_type: 'REQUIRED' });
    expect(byName.get('id')).toMatchObject({ type: 'INT64', repetition_type: 'OPTIONAL' });

    // Row groups carry ts min/max (raw footer, default parser: Dates) so any reader can skip them.
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([1_000, 1_000, 1_000]);
    meta.row_groups.forEach((group, g) => {
      const slice = rows.slice(g * 1_000, (g + 1) * 1_000);
      const ts = group.columns[1]!.meta_data!.statistics!;
      expect(ts.min_value).toEqual(new Date(slice[0]!.timestamp));
      expect(ts.max_value).toEqual(new Date(slice[slice.length - 1]!.timestamp));
      const status = group.columns[11]!.meta_data!.statistics!;
      expect(Number(status.null_count)).toBe(slice.filter((r) => r.status === null).length);
    });
    const kv = Object.fromEntries((meta.key_value_metadata ?? []).map((e) => [e.key, e.value]));
    expect(kv).toMatchObject({
      'vigil.archive.version': '2',
      'vigil.org_id': ORG,
      'vigil.day': DAY,
      'vigil.rows': '3000',
      'vigil.sorted_by_ts': 'true',
      'vigil.min_ts': new Date(rows[0]!.timestamp).toISOString(),
      'vigil.max_ts': new Date(rows[rows.length - 1]!.timestamp).toISOString(),
    });
  });

  // Third-party readers. DuckDB (@duckdb/node-api, a dev dependency, so this always runs: in CI too) reads
  // the files with its own Parquet implementation. pyarrow, what pandas.read_parquet uses, cannot be
  // installed here (no Debian package in bookworm, and PyPI is unreachable), so what pyarrow would see is
  // checked through DuckDB's footer reader instead: pyarrow maps INT64 TIMESTAMP(MILLIS, isAdjustedToUTC)
  // to timestamp[ms, tz=UTC] and a plain INT32 to int32.
  const duckdb = async () => {
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    return async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJson();
  };

  it('declares the types (as the footer reader of DuckDB sees them) pyarrow reads as timestamp[ms, tz=UTC] and int32, with per-group statistics', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => makeRow(i)).sort((x, y) => x.timestamp - y.timestamp);
    const { path } = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows, rowGroupSize: 100 });
    const query = await duckdb();
    const schema = Object.fromEntries(
      (await query(`SELECT name, type, logical_type FROM parquet_schema('${path}')`)).map((r) => [r.name, `${String(r.type)} ${String(r.logical_type)}`]),
    );
    for (const name of ['ts', 'received_at']) expect(schema[name]).toMatch(/^INT64 TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=/);
    expect(schema.status).toBe('INT32 null');
    expect(schema.message).toBe('BYTE_ARRAY StringType()');
    const groups = await query(
      `SELECT row_group_id::INT g, row_group_num_rows::INT n, stats_null_count::INT null_count, stats_min_value min_value, stats_max_value max_value
       FROM parquet_metadata('${path}') WHERE path_in_schema = 'status' ORDER BY g`,
    );
    expect(groups).toEqual(
      [0, 1, 2, 3, 4].map((g) => {
        const slice = rows.slice(g * 100, (g + 1) * 100).map((r) => r.status);
        const present = slice.filter((v): v is number => v !== null);
        return { g, n: 100, null_count: slice.length - present.length, min_value: String(Math.min(...present)), max_value: String(Math.max(...present)) };
      }),
    );
    const [first] = await query(`SELECT epoch_ms(ts)::BIGINT::VARCHAR ts, message FROM read_parquet('${path}') LIMIT 1`);
    expect(first).toEqual({ ts: String(rows[0]!.timestamp), message: rows[0]!.message });
  });

  it('is read by DuckDB as TIMESTAMPTZ, INTEGER, BIGINT and VARCHAR with the same values', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => makeRow(i));
    const { path } = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows, rowGroupSize: 100 });
    const query = await duckdb();
    const file = `read_parquet('${path}')`;
    const types = Object.fromEntries((await query(`DESCRIBE SELECT * FROM ${file}`)).map((r) => [r.column_name, r.column_type]));
    expect(types).toMatchObject({ ts: 'TIMESTAMP WITH TIME ZONE', received_at: 'TIMESTAMP WITH TIME ZONE', status: 'INTEGER', bytes: 'BIGINT', duration_ms: 'DOUBLE', message: 'VARCHAR', attributes: 'VARCHAR' });
    const [summary] = await query(`SELECT count(*)::INT n, count(status)::INT with_status, epoch_ms(min(ts))::BIGINT::VARCHAR min_ts, max(bytes)::VARCHAR max_bytes FROM ${file}`);
    expect(summary).toEqual({
      n: 500,
      with_status: rows.filter((r) => r.status !== null).length,
      min_ts: String(Math.min(...rows.map((r) => r.timestamp))),
      max_bytes: String(Math.max(...rows.map((r) => r.bytes ?? 0))),
    });
    const [second] = await query(`SELECT message, attributes->>'$.nested.n' n FROM ${file} WHERE epoch_ms(ts) = ${rows[1]!.timestamp}`);
    expect(second).toEqual({ message: rows[1]!.message, n: '1' });
  });

  it('answers the README query over the whole archive folder: hive folders become org and day columns', async () => {
    const day2 = '2024-03-11';
    await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: Array.from({ length: 30 }, (_, i) => makeRow(i)) });
    await writeArchiveFile(dir, { orgId: ORG, day: day2, rows: Array.from({ length: 20 }, (_, i) => makeRow(i, DAY0 + 86_400_000)) });
    const query = await duckdb();
    const counts = await query(`SELECT org, "day"::VARCHAR AS "day", count(*)::INT AS n FROM '${dir}/**/*.parquet' GROUP BY ALL ORDER BY ALL`);
    expect(counts).toEqual([
      { org: ORG, day: DAY, n: 30 },
      { org: ORG, day: day2, n: 20 },
    ]);
  });

  it('leaves no file when the row source fails midway', async () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => makeRow(i));
    await expect(writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: slowly(rows, 750), rowGroupSize: 200 })).rejects.toThrow('source broke');
    expect(await readdir(join(dir, `org=${ORG}`, `day=${DAY}`))).toEqual([]);
    expect(await listArchive(dir, ORG)).toEqual([]);
  });

  it('rejects a bad row by index and field, writing nothing', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => makeRow(i));
    rows[250] = { ...rows[250]!, timestamp: DAY0 + 86_400_000 }; // next day
    const error = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(httpStatusOf(error as DomainError)).toBe(400);
    expect((error as DomainError).message).toMatch(/row 250: timestamp .* outside the file's day 2024-03-10/);
    rows[250] = { ...rows[250]!, timestamp: DAY0, status: 'x' as unknown as number };
    await expect(writeArchiveFile(dir, { orgId: ORG, day: DAY, rows })).rejects.toThrow(/row 250: status/);
    expect(await readdir(join(dir, `org=${ORG}`, `day=${DAY}`))).toEqual([]);
  });

  it('rejects unsafe organisation ids and impossible days before touching the disk', async () => {
    for (const orgId of ['../etc', 'a/b', '', '.hidden']) {
      await expect(writeArchiveFile(dir, { orgId, day: DAY, rows: [] })).rejects.toThrow(/invalid organisation id/);
    }
    for (const day of ['2024-02-30', '2024-3-1', '20240301', '../x']) {
      await expect(writeArchiveFile(dir, { orgId: ORG, day, rows: [] })).rejects.toThrow(/invalid day/);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('never overwrites: concurrent writers get distinct parts; a fixed part conflicts unless replace', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => makeRow(i));
    const results = await Promise.all([0, 1, 2, 3].map(() => writeArchiveFile(dir, { orgId: ORG, day: DAY, rows })));
    expect(results.map((r) => r.part).sort()).toEqual([0, 1, 2, 3]);

    await expect(writeArchiveFile(dir, { orgId: ORG, day: DAY, rows, part: 2 })).rejects.toMatchObject({ code: 'conflict' });
    const replaced = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: rows.slice(0, 5), part: 2, replace: true });
    expect(replaced.part).toBe(2);
    expect(await collect(readArchiveFile(replaced.path))).toEqual(rows.slice(0, 5));
    expect((await readdir(join(dir, `org=${ORG}`, `day=${DAY}`))).sort()).toEqual(['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet', 'part-00003.parquet']);
  });

  it('keeps extra footer metadata for the exporter, but not under the names the writer uses', async () => {
    const { path } = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: [makeRow(1)], metadata: { first_id: '42', source: 'log_events_p20240310' } });
    const [info] = await listArchive(dir, ORG);
    expect(info).toMatchObject({ path, metadata: { first_id: '42', source: 'log_events_p20240310' } });
    expect(Math.abs(info!.createdAt - Date.now())).toBeLessThan(60_000);
    await expect(writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: [], metadata: { rows: '7' } })).rejects.toThrow(/written by the archive itself/);
    await expect(writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: [], metadata: { 'Bad Key': 'x' } })).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('reads the new footer of a replaced file, even with the same size and modification time', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => makeRow(i));
    // A filesystem with coarse timestamps gives both files the same mtime.
    const mtime = new Date('2024-03-11T00:00:00Z');
    const first = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows, part: 0, metadata: { tag: 'a' } });
    await utimes(first.path, mtime, mtime);
    expect((await listArchive(dir, ORG))[0]!.metadata).toEqual({ tag: 'a' }); // footer now cached
    const second = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows, part: 0, replace: true, metadata: { tag: 'b' } });
    await utimes(second.path, mtime, mtime);
    expect(second.bytes).toBe(first.bytes);
    expect((await listArchive(dir, ORG))[0]!.metadata).toEqual({ tag: 'b' });
  });

  it('rejects an id that is not a 64-bit integer and a missing too-late flag', async () => {
    await expect(writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: [{ ...makeRow(1), id: '9223372036854775808' }] })).rejects.toThrow(/row 0: id/);
    await expect(writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: [{ ...makeRow(1), id: '-1' }] })).rejects.toThrow(/row 0: id/);
    await expect(writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: [{ ...makeRow(1), tooLate: undefined as unknown as boolean }] })).rejects.toThrow(/row 0: tooLate/);
  });

  it('writes a valid empty file for an empty day', async () => {
    const result = await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: [] });
    expect(result).toMatchObject({ rows: 0, minTs: null, maxTs: null });
    expect(await collect(readArchiveFile(result.path))).toEqual([]);
  });
});

describe('listArchive and sweepArchiveTemp', () => {
  it('lists files by day and part with rows, size and bounds; ignores temp files and other orgs', async () => {
    const other = 'org-2';
    const d1 = Date.UTC(2024, 2, 9);
    await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: Array.from({ length: 30 }, (_, i) => makeRow(i)) });
    await writeArchiveFile(dir, { orgId: ORG, day: '2024-03-09', rows: Array.from({ length: 20 }, (_, i) => makeRow(i, d1)) });
    await writeArchiveFile(dir, { orgId: ORG, day: DAY, rows: [makeRow(5)] });
    await writeArchiveFile(dir, { orgId: other, day: DAY, rows: [makeRow(1)] });
    // What a writer killed mid-file leaves behind.
    const stale = join(dir, `org=${ORG}`, `day=${DAY}`, '.part-7.abcdef.tmp');
    await writeFile(stale, 'PAR1 half a file');

    const files = await listArchive(dir, ORG);
    expect(files.map((f) => [f.day, f.part, f.rows])).toEqual([
      ['2024-03-09', 0, 20],
      [DAY, 0, 30],
      [DAY, 1, 1],
    ]);
    expect(files[2]).toMatchObject({ minTs: makeRow(5).timestamp, maxTs: makeRow(5).timestamp, sortedByTs: true });
    expect(files.every((f) => f.bytes > 0)).toBe(true);
    expect((await listArchive(dir, ORG, { from: DAY, to: DAY })).length).toBe(2);
    expect((await listArchive(dir, ORG, { from: DAY0 - 1, to: DAY0 - 1 })).map((f) => f.day)).toEqual(['2024-03-09']);
    expect(await listArchive(dir, 'nobody')).toEqual([]);

    expect(await sweepArchiveTemp(dir, 60_000)).toBe(0); // young: may be a write in progress
    expect(await sweepArchiveTemp(dir, -1)).toBe(1);
    expect(await readdir(join(dir, `org=${ORG}`, `day=${DAY}`))).not.toContain('.part-7.abcdef.tmp');
  });
});
