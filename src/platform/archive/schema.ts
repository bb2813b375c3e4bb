/**
 * The archived raw log event: one row per event. This is where the log event's fields are declared
 * once: the logs domain's `LogEvent` is this row without `id` and `tooLate`, and its `StoredLogEvent`
 * is this row (src/domains/logs/event.ts), so the event, the archive and (checked there) the
 * `log_events` table and the API contract cannot drift apart.
 *
 * On disk the columns are snake_case with Parquet logical types every standard reader maps to its own
 * types: `ts`/`received_at` are INT64 TIMESTAMP(MILLIS, isAdjustedToUTC) — DuckDB reads TIMESTAMPTZ,
 * pandas/pyarrow `timestamp[ms, tz=UTC]`; strings are UTF-8 STRING; `attributes` is a STRING of JSON text.
 */
import type { SchemaElement } from 'hyparquet';

export interface ArchiveRow {
  /** Event time, epoch milliseconds UTC (taken from the event; `receivedAt` when it has none). */
  timestamp: number;
  /** When Vigil received the request, epoch milliseconds UTC. */
  receivedAt: number;
  service: string | null;
  host: string | null;
  source: string | null;
  /** trace | debug | info | warn | error | fatal, or the sender's own level name lower-cased. */
  level: string | null;
  message: string;
  method: string | null;
  /** URL path without scheme, host, query or fragment. */
  path: string | null;
  /** First path segment: `/api/user` → `/api`. Set whenever `path` is. */
  section: string | null;
  status: number | null;
  bytes: number | null;
  durationMs: number | null;
  remoteAddr: string | null;
  userAgent: string | null;
  attributes: Record<string, unknown>;
  /** The event's id in the hot store (a bigint as decimal text); null for events archived from elsewhere. */
  id: string | null;
  /** Arrived after its statistics bucket was final: stored, not counted. */
  tooLate: boolean;
}

/** Bumped when the column set changes; written to every file's key-value metadata. */
export const ARCHIVE_FORMAT_VERSION = '2';

/** Footer keys (`vigil.<key>`) the writer sets itself: a caller's extra metadata cannot use them. */
export const WRITER_KEYS: ReadonlySet<string> = new Set(['archive.version', 'org_id', 'day', 'rows', 'sorted_by_ts', 'min_ts', 'max_ts']);

type Kind = 'timestamp' | 'string' | 'int32' | 'int64' | 'double' | 'boolean' | 'json';

interface ColumnDef {
  /** Parquet column name. */
  name: string;
  /** The ArchiveRow field it holds; null for `org_id`, which comes from the file's organisation. */
  field: keyof ArchiveRow | null;
  kind: Kind;
  required: boolean;
}

/** Column order on disk. `org_id` is constant per file, so dictionary encoding makes it nearly free. */
export const COLUMNS: readonly ColumnDef[] = [
  { name: 'org_id', field: null, kind: 'string', required: true },
  { name: 'ts', field: 'timestamp', kind: 'timestamp', required: true },
  { name: 'received_at', field: 'receivedAt', kind: 'timestamp', required: true },
  { name: 'service', field: 'service', kind: 'string', required: false },
  { name: 'host', field: 'host', kind: 'string', required: false },
  { name: 'source', field: 'source', kind: 'string', required: false },
  { name: 'level', field: 'level', kind: 'string', required: false },
  { name: 'message', field: 'message', kind: 'string', required: true },
  { name: 'method', field: 'method', kind: 'string', required: false },
  { name: 'path', field: 'path', kind: 'string', required: false },
  { name: 'section', field: 'section', kind: 'string', required: false },
  { name: 'status', field: 'status', kind: 'int32', required: false },
  { name: 'bytes', field: 'bytes', kind: 'int64', required: false },
  { name: 'duration_ms', field: 'durationMs', kind: 'double', required: false },
  { name: 'remote_addr', field: 'remoteAddr', kind: 'string', required: false },
  { name: 'user_agent', field: 'userAgent', kind: 'string', required: false },
  { name: 'attributes', field: 'attributes', kind: 'json', required: true },
  // Version 2; appended so the columns of version 1 keep their positions.
  { name: 'too_late', field: 'tooLate', kind: 'boolean', required: true },
  { name: 'id', field: 'id', kind: 'int64', required: false },
];

function element(col: ColumnDef): SchemaElement {
  const repetition_type = col.required ? 'REQUIRED' : 'OPTIONAL';
  switch (col.kind) {
    case 'timestamp':
      // Both annotations: the logical type for current readers, the converted type for old ones
      // (TIMESTAMP_MILLIS is defined as UTC-adjusted, so they agree).
      return {
        name: col.name,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
        repetition_type,
      };
    case 'string':
      return { name: col.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
    case 'int32':
      return { name: col.name, type: 'INT32', repetition_type };
    case 'int64':
      return { name: col.name, type: 'INT64', repetition_type };
    case 'double':
      return { name: col.name, type: 'DOUBLE', repetition_type };
    case 'boolean':
      return { name: col.name, type: 'BOOLEAN', repetition_type };
    case 'json':
      // JSON text in a STRING column, not the JSON logical type: DuckDB 1.5 types a column JSON only
      // by the legacy converted type, and with that annotation hyparquet-writer insists on serialising
      // the values itself, defeating the writer's shared encoding of `{}`. As VARCHAR it still works
      // with DuckDB's `attributes->>'$.key'` and `json_extract`.
      return { name: col.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
  }
}

export const PARQUET_SCHEMA: SchemaElement[] = [{ name: 'schema', num_children: COLUMNS.length }, ...COLUMNS.map(element)];
