/**
 * log_events rows in COPY's text format: one line per event, in the order of EVENT_COLUMNS.
 *
 * The stream processor writes a batch's events with COPY while it holds the checkpoint lock, so the
 * time the main thread spends encoding them is time every later batch waits for. Where the rows
 * can be known before the batch (in process, on PostgreSQL) the decode worker encodes each
 * request's events here as UTF-8 bytes, beside its decoding (`encodeCopyRows`), and the processor
 * hands byte ranges of them to COPY, encoding only the rare too-late event again.
 *
 * Invariants:
 * - `eventCopyLine(orgId, e, false)` is exactly the text of event `e`'s bytes in `encodeCopyRows`
 *   (one function makes both), so a row is stored the same whichever way it was encoded.
 * - Pre-encoded rows say not too late (`f`): only the processor knows better, and it re-encodes
 *   the event when it does.
 */
import { copyValue, isoOf, pgJson, pgText } from '../../platform/store/index.js';
import type { LogEvent } from './event.js';

export const EVENT_COLUMNS = ['org_id', 'ts', 'received_at', 'service', 'host', 'source', 'level', 'message', 'method', 'path', 'section', 'status', 'bytes', 'duration_ms', 'remote_addr', 'user_agent', 'attributes', 'too_late'] as const;

/** Characters a COPY text value cannot hold as they are: its separators and the backslash, and NUL (PostgreSQL text refuses it). */
const NEEDS_WORK = /[\\\t\n\r\0]/;

/** A text value in COPY's text format (`\N` for null); the common value needs one regex test and no copy. */
function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return NEEDS_WORK.test(value) ? copyValue(pgText(value)) : value;
}

const copyNumber = (value: number | null): string => (value === null ? '\\N' : String(value));

const values: string[] = new Array<string>(EVENT_COLUMNS.length);

/** One event's line, without its newline. One `join` of its values: a flat string, not a tree of small parts. */
export function eventCopyLine(orgId: string, e: LogEvent, tooLate: boolean): string {
  values[0] = orgId;
  values[1] = isoOf(e.timestamp);
  values[2] = isoOf(e.receivedAt);
  values[3] = copyText(e.service);
  values[4] = copyText(e.host);
  values[5] = copyText(e.source);
  values[6] = copyText(e.level);
  values[7] = copyText(e.message);
  values[8] = copyText(e.method);
  values[9] = copyText(e.path);
  values[10] = copyText(e.section);
  values[11] = copyNumber(e.status);
  values[12] = copyNumber(e.bytes);
  values[13] = copyNumber(e.durationMs);
  values[14] = copyText(e.remoteAddr);
  values[15] = copyText(e.userAgent);
  values[16] = copyText(pgJson(e.attributes));
  values[17] = tooLate ? 't' : 'f';
  return values.join('\t');
}

/** Events' lines as UTF-8, each with its newline; event i is `bytes.subarray(starts[i], ends[i])`. */
export interface CopyRows {
  bytes: Uint8Array;
  starts: Uint32Array;
  ends: Uint32Array;
}

const utf8 = new TextEncoder();
const NEWLINE = 10;

/** The lines of `events` for `orgId` (not too late), in one buffer: what a decode worker sends back beside the events. */
export function encodeCopyRows(orgId: string, events: readonly LogEvent[]): CopyRows {
  const starts = new Uint32Array(events.length);
  const ends = new Uint32Array(events.length);
  let bytes = new Uint8Array(Math.max(4096, events.length * 512));
  let at = 0;
  for (let i = 0; i < events.length; i++) {
    const line = eventCopyLine(orgId, events[i]!, false);
    // A UTF-16 code unit takes at most 3 bytes in UTF-8: room for that means the line fits whole.
    const most = line.length * 3 + 1;
    if (bytes.length - at < most) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, at + most));
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    starts[i] = at;
    at += utf8.encodeInto(line, bytes.subarray(at)).written;
    bytes[at++] = NEWLINE;
    ends[i] = at;
  }
  // A copy of the bytes used: the buffer is sent to the main thread and held until the rows are stored.
  return { bytes: bytes.slice(0, at), starts, ends };
}

/** The rows of the events at `indexes` (in that order), sharing the bytes. */
export function selectCopyRows(rows: CopyRows, indexes: readonly number[]): CopyRows {
  const starts = new Uint32Array(indexes.length);
  const ends = new Uint32Array(indexes.length);
  for (let k = 0; k < indexes.length; k++) {
    starts[k] = rows.starts[indexes[k]!]!;
    ends[k] = rows.ends[indexes[k]!]!;
  }
  return { bytes: rows.bytes, starts, ends };
}
