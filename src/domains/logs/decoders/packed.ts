import { DomainError, type ErrorCode } from '../../../platform/errors.js';
import type { LogEvent } from '../event.js';
import type { CopyRows } from '../copy-rows.js';
import type { DecodeOutcome } from './job.js';
import type { Rejection } from './limits.js';
import type { OtlpFormat } from './otlp.js';

/**
 * A decode outcome in the form a decode worker thread sends it back in, and the way back.
 *
 * Why not the events themselves: posting 1,000 LogEvent objects by structured clone costs
 * the receiving (main) thread ~1.5 ms to deserialise, half of what decoding the body inline costs
 * (~3.3 ms for the bench's 1,000-event, 315 KB JSON array), so most of the gain of a worker would
 * be spent rebuilding its answer. Columns cost it ~0.15 ms: numbers travel in typed arrays
 * (transferred, not copied), strings once each as one JSON array (JSON.parse makes them faster
 * than structured clone does), and the main thread puts the objects together from those.
 *
 * Invariants (the tests in packed.test.ts check them against every decoder's output):
 * - `unpackOutcome(packOutcome(o))` equals `o` value for value, with the same key order in every
 *   event, rejection and position (answers and bus messages serialise objects in key order).
 * - Strings come back as strings of their own, never as slices of one large string: a slice keeps
 *   its whole parent alive, and the stream processor keeps some (service, host, section) for long.
 * - Attributes survive JSON: settleEvent (shape.ts) has already made them plain JSON values.
 */

/** The text fields of an event, in LogEvent's key order. */
const STRING_FIELDS = ['service', 'host', 'source', 'level', 'message', 'method', 'path', 'section', 'remoteAddr', 'userAgent'] as const;
/** The numeric fields of an event. */
const NUMBER_FIELDS = ['timestamp', 'receivedAt', 'status', 'bytes', 'durationMs'] as const;

// A field added to LogEvent must be added above (and to `eventAt` below) or this fails to compile.
type Packed = (typeof STRING_FIELDS)[number] | (typeof NUMBER_FIELDS)[number] | 'attributes';
const everyFieldPacked: [Exclude<keyof LogEvent, Packed>] extends [never] ? true : false = true;
void everyFieldPacked;

const S = STRING_FIELDS.length;
const N = NUMBER_FIELDS.length;

export interface PackedOutcome {
  receivedAt: number;
  bodyBytes: number;
  format?: OtlpFormat;
  /** Few as a rule (refused events only): cloned as they are. */
  rejected: Rejection[];
  count: number;
  /** JSON array of the distinct values of the events' text fields. */
  strings: string;
  /** Per event, per STRING_FIELDS entry: index into `strings`, -1 for null. */
  refs: Int32Array;
  /** Per event, per NUMBER_FIELDS entry. */
  numbers: Float64Array;
  /** Per event, per NUMBER_FIELDS entry: 1 where the value is null. */
  nulls: Uint8Array;
  /** Events whose attributes are not empty, and those attributes as one JSON array in the same order. */
  attributeAt: Int32Array;
  attributes: string;
  /** The events' COPY rows, when the job asked for them (their buffers transferred). */
  rows?: CopyRows;
  /** DecodeResult.positions: null when the result had none; else per event its index and line (-1: none) and, if any has one, path. */
  positions: { index: Int32Array; line: Int32Array; paths: (string | null)[] | null } | null;
}

function isEmpty(record: Record<string, unknown>): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return false;
  return true;
}

/** Packs an outcome (on the worker thread). */
export function packOutcome(outcome: DecodeOutcome): PackedOutcome {
  const { events, rejected, positions } = outcome.result;
  const count = events.length;
  const distinct = new Map<string, number>();
  const strings: string[] = [];
  const refs = new Int32Array(count * S);
  const numbers = new Float64Array(count * N);
  const nulls = new Uint8Array(count * N);
  const attributeAt: number[] = [];
  const attributes: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const event = events[i]!;
    for (let f = 0; f < S; f++) {
      const value = event[STRING_FIELDS[f]!];
      let ref = -1;
      if (value !== null) {
        ref = distinct.get(value) ?? -1;
        if (ref < 0) {
          ref = strings.length;
          distinct.set(value, ref);
          strings.push(value);
        }
      }
      refs[i * S + f] = ref;
    }
    for (let f = 0; f < N; f++) {
      const value = event[NUMBER_FIELDS[f]!];
      if (value === null) nulls[i * N + f] = 1;
      else numbers[i * N + f] = value;
    }
    if (!isEmpty(event.attributes)) {
      attributeAt.push(i);
      attributes.push(event.attributes);
    }
  }
  let packedPositions: PackedOutcome['positions'] = null;
  if (positions) {
    const index = new Int32Array(positions.length).fill(-1);
    const line = new Int32Array(positions.length).fill(-1);
    let paths: (string | null)[] | null = null;
    positions.forEach((p, i) => {
      if (p.index !== undefined) index[i] = p.index;
      if (p.line !== undefined) line[i] = p.line;
      if (p.path !== undefined) (paths ??= new Array<string | null>(positions.length).fill(null))[i] = p.path;
    });
    packedPositions = { index, line, paths };
  }
  return {
    receivedAt: outcome.receivedAt,
    bodyBytes: outcome.bodyBytes,
    ...(outcome.format ? { format: outcome.format } : {}),
    ...(outcome.rows ? { rows: outcome.rows } : {}),
    rejected,
    count,
    strings: JSON.stringify(strings),
    refs,
    numbers,
    nulls,
    attributeAt: Int32Array.from(attributeAt),
    attributes: JSON.stringify(attributes),
    positions: packedPositions,
  };
}

/** The buffers of a packed outcome, to transfer rather than copy. */
export function transferablesOf(packed: PackedOutcome): ArrayBuffer[] {
  const views = [
    packed.refs,
    packed.numbers,
    packed.nulls,
    packed.attributeAt,
    ...(packed.positions ? [packed.positions.index, packed.positions.line] : []),
    ...(packed.rows ? [packed.rows.bytes, packed.rows.starts, packed.rows.ends] : []),
  ];
  return views.map((v) => v.buffer as ArrayBuffer);
}

/** The outcome again (on the main thread). */
export function unpackOutcome(packed: PackedOutcome): DecodeOutcome {
  const strings = JSON.parse(packed.strings) as string[];
  const attributes = JSON.parse(packed.attributes) as Record<string, unknown>[];
  const { count, refs, numbers, nulls } = packed;
  const text = (ref: number): string | null => (ref < 0 ? null : strings[ref]!);
  const number = (at: number): number | null => (nulls[at] === 1 ? null : numbers[at]!);
  const events = new Array<LogEvent>(count);
  for (let i = 0; i < count; i++) {
    const s = i * S;
    const n = i * N;
    // LogEvent's key order (buildEvent's), so events serialise as they would have inline.
    events[i] = {
      timestamp: numbers[n]!,
      receivedAt: numbers[n + 1]!,
      service: text(refs[s]!),
      host: text(refs[s + 1]!),
      source: text(refs[s + 2]!),
      level: text(refs[s + 3]!),
      message: text(refs[s + 4]!) ?? '',
      method: text(refs[s + 5]!),
      path: text(refs[s + 6]!),
      section: text(refs[s + 7]!),
      status: number(n + 2),
      bytes: number(n + 3),
      durationMs: number(n + 4),
      remoteAddr: text(refs[s + 8]!),
      userAgent: text(refs[s + 9]!),
      attributes: {},
    };
  }
  packed.attributeAt.forEach((i, k) => (events[i]!.attributes = attributes[k]!));
  let positions: DecodeOutcome['result']['positions'];
  if (packed.positions) {
    const { index, line, paths } = packed.positions;
    positions = new Array<Omit<Rejection, 'reason'>>(index.length);
    for (let i = 0; i < index.length; i++) {
      // The decoders write positions as { index }, { line } or { index, path }: same order here.
      const p: Omit<Rejection, 'reason'> = {};
      if (index[i]! >= 0) p.index = index[i]!;
      if (line[i]! >= 0) p.line = line[i]!;
      const path = paths?.[i];
      if (path !== undefined && path !== null) p.path = path;
      positions[i] = p;
    }
  }
  return {
    result: { events, rejected: packed.rejected, ...(positions ? { positions } : {}) },
    receivedAt: packed.receivedAt,
    bodyBytes: packed.bodyBytes,
    ...(packed.format ? { format: packed.format } : {}),
    ...(packed.rows ? { rows: packed.rows } : {}),
  };
}

/** An error thrown while decoding, as a worker sends it: AppErrors keep what their answer is made of. */
export type PackedError =
  | { app: true; name: string; code: ErrorCode; message: string; details?: unknown; retryAfterSeconds?: number }
  | { app: false; name: string; message: string; stack?: string };

export function packError(error: unknown): PackedError {
  if (error instanceof DomainError) {
    return {
      app: true,
      name: error.name,
      code: error.code,
      message: error.message,
      ...(error.details !== undefined ? { details: error.details } : {}),
      ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { app: false, name: e.name, message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) };
}

/**
 * The error to throw on the main thread. A DomainError comes back as a DomainError with the same
 * code, message and details, so the error handler answers exactly as for one thrown inline; its
 * subclass (IngestLimitError...) is not kept, as nothing past decoding tells them apart.
 */
export function unpackError(packed: PackedError): Error {
  const error = packed.app ? new DomainError(packed.code, packed.message, {
        ...(packed.details !== undefined ? { details: packed.details } : {}),
        ...(packed.retryAfterSeconds !== undefined ? { retryAfterSeconds: packed.retryAfterSeconds } : {}),
      }) : new Error(packed.message);
  error.name = packed.name;
  if (!packed.app && packed.stack !== undefined) error.stack = `${packed.stack}\n    (on a log decode worker thread)`;
  return error;
}
