/**
 * Client and helpers of the Shipments page: bulk upload of a CSV, NDJSON or JSON file (or pasted
 * text) to `POST /api/v1/shipments` with the content type of its format, and the recent shipments.
 *
 * The upload sends the text as it is (the server splits and validates the rows and reports each bad
 * one with its line), so the lines the answer names are the lines of the user's file.
 */
import type { z } from 'zod';
import { errorEnvelope } from '@contracts/errors.js';
import { shipmentIntakeAnswer, shipmentList } from '@contracts/shipments.js';
import { ApiError, cookieValue, request } from './api';

export type IntakeAnswer = z.infer<typeof shipmentIntakeAnswer>;
export type ShipmentFormat = 'csv' | 'ndjson' | 'json';

export const FORMAT_TYPES: Record<ShipmentFormat, string> = { csv: 'text/csv', ndjson: 'application/x-ndjson', json: 'application/json' };
export const FORMAT_LABEL: Record<ShipmentFormat, string> = { csv: 'CSV (header row of field names)', ndjson: 'NDJSON (one JSON object a line)', json: 'JSON array' };

/**
 * The format of an upload: by the file's extension when it has a known one, else by its first
 * character (`[` a JSON array, `{` NDJSON, anything else CSV).
 */
export function detectFormat(text: string, fileName?: string): ShipmentFormat {
  const ext = fileName?.toLowerCase().split('.').pop();
  if (ext === 'csv') return 'csv';
  if (ext === 'ndjson' || ext === 'jsonl') return 'ndjson';
  const first = text.trimStart()[0];
  if (first === '[') return 'json';
  if (first === '{') return 'ndjson';
  if (ext === 'json') return 'json';
  return 'csv';
}

/** The intake answer of an upload; every row refused is a 400 carrying the same answer in `details`. */
export async function uploadShipments(text: string, format: ShipmentFormat): Promise<IntakeAnswer> {
  let response: Response;
  try {
    response = await fetch('/api/v1/shipments', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'content-type': FORMAT_TYPES[format], 'x-csrf-token': cookieValue(document.cookie, 'vigil_csrf') ?? '' },
      body: text,
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the Vigil server. Check your connection and try again.');
  }
  const payload: unknown = await response.json().catch(() => undefined);
  if (response.ok) return shipmentIntakeAnswer.parse(payload);
  const envelope = errorEnvelope.safeParse(payload);
  if (envelope.success) {
    // Every row refused: the answer is in `details`, so the rows are listed all the same.
    const answer = shipmentIntakeAnswer.safeParse(envelope.data.error.details);
    if (answer.success) return answer.data;
    throw new ApiError(response.status, envelope.data.error.code, envelope.data.error.message, envelope.data.error.details);
  }
  throw new ApiError(response.status, 'http_error', `Upload failed with HTTP ${response.status}`);
}

export const listShipments = async (limit = 50) => shipmentList.parse(await request<unknown>('GET', `/api/v1/shipments?limit=${limit}`)).shipments;

/** "12 stored, 3 duplicates, 2 rejected": the answer in one line. */
export function intakeSummary(a: Pick<IntakeAnswer, 'stored' | 'duplicates' | 'rejected' | 'errors_omitted'>): string {
  const parts = [`${a.stored} stored`, `${a.duplicates} duplicate${a.duplicates === 1 ? '' : 's'}`, `${a.rejected} rejected`];
  return parts.join(', ') + (a.errors_omitted > 0 ? ` (${a.errors_omitted} more refused rows not listed)` : '');
}
