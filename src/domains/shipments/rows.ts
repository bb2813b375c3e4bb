/**
 * Turning an intake body into validated shipments, row by row. Pure: no SQL, no HTTP.
 *
 * Invariants:
 * - One bad row never costs a good one: every row is decoded and validated on its own, and a bad
 *   row becomes one `RowError` naming its line (NDJSON line, CSV record line with the header as
 *   line 1, or 1-based position in a JSON array) and the offending field.
 * - The client never supplies `declared_value_usd`: the schema is strict, so a row carrying it (or
 *   any unknown field) is refused naming that field.
 * - CSV cells are text: numbers are converted only for the numeric fields, an empty cell means
 *   "absent", `dimensions_cm.<side>` and `attributes.<name>` columns nest, an `attributes` column
 *   holds JSON.
 */
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import type { z } from 'zod';
import { shipmentInput, type ShipmentInput } from '../../contracts/shipments.js';
import { mediaType } from '../../platform/http/media-type.js';

export interface RowError {
  line: number;
  field: string;
  message: string;
}

export interface RawRow {
  line: number;
  value: unknown;
}

export interface ValidRow {
  line: number;
  shipment: ShipmentInput;
}

export type BodyFormat = 'json' | 'ndjson' | 'csv';

/**
 * Content types that name no format but come with one anyway: none at all, curl's default for
 * `--data-binary @file` (application/x-www-form-urlencoded), a file sent by a generic client
 * (application/octet-stream) and plain text. The body tells which (`sniffFormat`), rather than a
 * 415 for the command a user copies first.
 */
const UNDECLARED = new Set(['', 'application/x-www-form-urlencoded', 'application/octet-stream', 'text/plain']);

/**
 * The body's format from its Content-Type: one of ours, 'sniff' when the type names no format
 * (UNDECLARED), undefined when it names another one (XML, a form upload…).
 */
export function formatOf(contentType: string | undefined): BodyFormat | 'sniff' | undefined {
  const type = mediaType(contentType);
  if (type === 'application/json') return 'json';
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') return 'ndjson';
  if (type === 'text/csv') return 'csv';
  if (UNDECLARED.has(type)) return 'sniff';
  return undefined;
}

/**
 * The format of a body sent without one: by its first character after a byte-order mark and
 * blanks. A JSON array starts with `[`, NDJSON with `{`; anything else is CSV, whose header row
 * is field names (which start with neither).
 */
export function sniffFormat(body: string): BodyFormat {
  // trimStart drops a byte-order mark too (U+FEFF is white space to it), as the log decoders read theirs.
  const first = body.trimStart()[0];
  return first === '[' ? 'json' : first === '{' ? 'ndjson' : 'csv';
}

/** Splits NDJSON into rows; a line that is not JSON is an error of that line. Blank lines are skipped. */
export function ndjsonRows(body: string): { rows: RawRow[]; errors: RowError[] } {
  const rows: RawRow[] = [];
  const errors: RowError[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    try {
      rows.push({ line: i + 1, value: JSON.parse(text) as unknown });
    } catch (error) {
      errors.push({ line: i + 1, field: '', message: `not JSON: ${(error as Error).message}` });
    }
  }
  return { rows, errors };
}

/** A parsed JSON array's elements as rows (line = 1-based position). */
export function arrayRows(body: unknown[]): RawRow[] {
  return body.map((value, i) => ({ line: i + 1, value }));
}

const NUMERIC = new Set(['declared_value', 'weight_kg', 'pieces', 'dimensions_cm.length', 'dimensions_cm.width', 'dimensions_cm.height']);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** CSV with a header row into rows of nested objects; a malformed record is an error of its line. */
export function csvRows(body: string): { rows: RawRow[]; errors: RowError[] } {
  const errors: RowError[] = [];
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parseCsv(body, {
      bom: true,
      columns: (header: string[]) => header.map((h) => h.trim()),
      info: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: 1 << 20,
      on_skip: (error: CsvError | undefined) => {
        if (error) errors.push({ line: Number((error as CsvError & { lines?: number }).lines ?? 0), field: '', message: `invalid CSV: ${error.message}` });
        return undefined;
      },
    }) as unknown as { record: Record<string, string>; info: { lines: number } }[];
  } catch (error) {
    // The header itself (or the whole document) is unreadable: one error for line 1.
    if (error instanceof CsvError) return { rows: [], errors: [{ line: 1, field: '', message: `invalid CSV: ${error.message}` }] };
    throw error;
  }
  const rows: RawRow[] = [];
  for (const { record, info } of records) {
    const value: Record<string, unknown> = {};
    let bad: RowError | undefined;
    for (const [column, cell] of Object.entries(record)) {
      if (cell === '') continue;
      let v: unknown = cell;
      if (NUMERIC.has(column) && NUMBER.test(cell.trim())) v = Number(cell);
      if (column === 'attributes') {
        try {
          v = JSON.parse(cell) as unknown;
        } catch {
          bad = { line: info.lines, field: 'attributes', message: 'must be a JSON object in CSV' };
          break;
        }
      }
      const dot = column.indexOf('.');
      if (dot > 0 && (column.startsWith('dimensions_cm.') || column.startsWith('attributes.'))) {
        const parent = column.slice(0, dot);
        const existing = value[parent];
        const nested = (typeof existing === 'object' && existing !== null ? existing : (value[parent] = {})) as Record<string, unknown>;
        nested[column.slice(dot + 1)] = v;
      } else {
        value[column] = v;
      }
    }
    if (bad) errors.push(bad);
    else rows.push({ line: info.lines, value });
  }
  return { rows, errors };
}

/** The field an issue is about: its dotted path, or the unknown key it names. */
function fieldOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return [...issue.path.map(String), issue.keys[0] ?? ''].filter((p) => p !== '').join('.');
  return issue.path.map(String).join('.');
}

/** Validates rows against the shipment schema; each bad row gives one error (its first issue). */
export function validateRows(rows: RawRow[]): { valid: ValidRow[]; errors: RowError[] } {
  const valid: ValidRow[] = [];
  const errors: RowError[] = [];
  for (const { line, value } of rows) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push({ line, field: '', message: 'a shipment must be a JSON object' });
      continue;
    }
    const parsed = shipmentInput.safeParse(value);
    if (parsed.success) {
      valid.push({ line, shipment: parsed.data });
      continue;
    }
    const issue = parsed.error.issues[0]!;
    const field = fieldOf(issue);
    const message = issue.code === 'unrecognized_keys' ? (field === 'declared_value_usd' ? 'is derived from the rates and cannot be sent' : 'unknown field') : issue.message;
    errors.push({ line, field, message });
  }
  return { valid, errors };
}
