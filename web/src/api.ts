/**
 * Typed client of Vigil's public REST API. The dashboard uses the same endpoints as any other
 * client, authenticated by the session cookie; every write echoes the `vigil_csrf` cookie in
 * `X-CSRF-Token` (double-submit), which the server requires for cookie-authenticated writes.
 */

import type { z } from 'zod';
import { me as meSchema, type loginRequest } from '@contracts/accounts.js';
import { errorEnvelope, type ErrorCode } from '@contracts/errors.js';
import { channelList, channelView, deliveryEvent, deliveryList, testQueued, type channelInput, type deliveryView } from '@contracts/notify.js';
import {
  checkListSchema,
  checkViewSchema,
  flipListSchema,
  maintenanceListSchema,
  maintenanceWindowSchema,
  pingListSchema,
  runListSchema,
  schedulePreviewSchema,
  type checkInputSchema,
  type maintenanceInputSchema,
  type runOutcome,
  type runSchema,
  type shownCheckStatus,
} from '@contracts/jobs.js';

/** A check's status as shown ("late" once its expected ping is overdue). */
export type CheckStatus = z.infer<typeof shownCheckStatus>;

type CheckFields = z.input<typeof checkInputSchema>;
/** The writable fields of a check (POST body; PATCH takes any subset); the form fills them all but the slug (made from the name when left out). */
export type CheckInput = Required<
  Pick<CheckFields, 'name' | 'tags' | 'description' | 'kind' | 'timeout' | 'grace' | 'schedule' | 'tz' | 'max_runtime' | 'min_runtime' | 'failure_threshold' | 'realert' | 'manual_resume'>
> &
  Pick<CheckFields, 'slug' | 'channels'>;

/** A schedule as the server reads it: its syntax, in words, and its next times (ISO). */

/** A check as the API answers it: its settings, and what the server knows of its runs. */
export type CheckView = z.infer<typeof checkViewSchema>;

export type RunOutcome = z.infer<typeof runOutcome>;
export type Run = z.infer<typeof runSchema>;

/** Channels, their deliveries and the signed-in identity: the server's contracts (`@contracts/notify.js`, `@contracts/accounts.js`). */
export type ChannelInput = z.input<typeof channelInput>;
export type Channel = z.infer<typeof channelView>;
export type Delivery = z.infer<typeof deliveryView>;

/**
 * A maintenance window: one-off (`starts_at`..`ends_at`) or recurring (`cron` in `tz` opening a
 * window of `duration` seconds). `check_id` null means every check of the organisation.
 */
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>;
/** A one-off window (starts_at, ends_at) or a recurring one (cron, duration, tz); the server names what is missing. */
export type MaintenanceInput = z.input<typeof maintenanceInputSchema>;

export type Me = z.infer<typeof meSchema>;

/** One offending input named by the server (e.g. `{ field: "schedule", message: "..." }`). */
export interface FieldError {
  field: string;
  message: string;
}

/** An answer outside 2xx, carrying the server's `{error:{code,message,details}}` envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The server's error code, or `network` / `http_error` when no envelope came back. */
    readonly code: ErrorCode | 'network' | 'http_error',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Field errors from `details`, with the `body.` prefix of request validation removed. */
  get fields(): FieldError[] {
    if (!Array.isArray(this.details)) return [];
    return this.details.flatMap((d: unknown) => {
      if (typeof d !== 'object' || d === null) return [];
      const { field, message } = d as Record<string, unknown>;
      return typeof field === 'string' ? [{ field: field.replace(/^body\./, ''), message: String(message ?? 'invalid') }] : [];
    });
  }
}

/** Listeners told when the session is gone (a 401), so the app can show the login form. */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** The value of cookie `name` in a `document.cookie` string (pure: the caller reads the document). */
export function cookieValue(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/**
 * One API call with the session's CSRF token, the error envelope and 401 handling (shared with
 * domain clients such as logs.ts and traffic.ts). Aborted through `signal`, it rejects with the
 * abort error, which callers that abort know to ignore.
 */
export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = cookieValue(document.cookie, 'vigil_csrf') ?? '';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, 'network', 'Cannot reach the Vigil server. Check your connection and try again.');
  }
  const text = await response.text();
  let payload: unknown = undefined;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
  }
  if (!response.ok) {
    // A proxy's HTML error page or a truncated body is not the envelope: fall back to the status.
    const parsed = errorEnvelope.safeParse(payload);
    const envelope = parsed.success ? parsed.data.error : undefined;
    const error = new ApiError(
      response.status,
      envelope?.code ?? 'http_error',
      envelope?.message ?? `${method} ${path} failed with HTTP ${response.status}`,
      envelope?.details,
    );
    // Logging in with a wrong password is a 401 too, but it is not a lost session.
    if (response.status === 401 && path !== '/api/v1/session') for (const listener of unauthorizedListeners) listener();
    throw error;
  }
  return payload as T;
}

const checkPath = (id: string) => `/api/v1/checks/${encodeURIComponent(id)}`;

export const api = {
  me: async (): Promise<Me> => meSchema.parse(await request<unknown>('GET', '/api/v1/me')),
  login: (email: string, password: string) => request<unknown>('POST', '/api/v1/session', { email, password } satisfies z.input<typeof loginRequest>),
  logout: () => request<unknown>('DELETE', '/api/v1/session'),

  listChecks: async () => checkListSchema.parse(await request('GET', '/api/v1/checks')).checks,
  getCheck: async (id: string) => checkViewSchema.parse(await request('GET', checkPath(id))),
  createCheck: async (input: CheckInput) => checkViewSchema.parse(await request('POST', '/api/v1/checks', input)),
  updateCheck: async (id: string, input: Partial<CheckInput>) => checkViewSchema.parse(await request('PATCH', checkPath(id), input)),
  deleteCheck: (id: string) => request<unknown>('DELETE', checkPath(id)),
  pauseCheck: async (id: string) => checkViewSchema.parse(await request('POST', `${checkPath(id)}/pause`)),
  resumeCheck: async (id: string) => checkViewSchema.parse(await request('POST', `${checkPath(id)}/resume`)),
  runs: async (id: string) => runListSchema.parse(await request('GET', `${checkPath(id)}/runs`)).runs,
  flips: async (id: string) => flipListSchema.parse(await request('GET', `${checkPath(id)}/flips`)).flips,
  pings: async (id: string) => pingListSchema.parse(await request('GET', `${checkPath(id)}/pings`)).pings,
  previewSchedule: async (schedule: string, tz: string, signal?: AbortSignal) =>
    schedulePreviewSchema.parse(await request('GET', `/api/v1/schedules/preview?${new URLSearchParams({ schedule, tz }).toString()}`, undefined, signal)),

  listMaintenance: async () => maintenanceListSchema.parse(await request('GET', '/api/v1/maintenance')).windows,
  createMaintenance: async (input: MaintenanceInput) => maintenanceWindowSchema.parse(await request('POST', '/api/v1/maintenance', input)),
  deleteMaintenance: (id: string) => request<unknown>('DELETE', `/api/v1/maintenance/${encodeURIComponent(id)}`),

  listChannels: async (): Promise<Channel[]> => channelList.parse(await request<unknown>('GET', '/api/v1/channels')).channels,
  createChannel: async (input: ChannelInput): Promise<Channel> => channelView.parse(await request<unknown>('POST', '/api/v1/channels', input)),
  deleteChannel: (id: string) => request<unknown>('DELETE', `/api/v1/channels/${encodeURIComponent(id)}`),
  testChannel: async (id: string) => testQueued.parse(await request<unknown>('POST', `/api/v1/channels/${encodeURIComponent(id)}/test`)),
  deliveries: async (id: string): Promise<Delivery[]> =>
    deliveryList.parse(await request<unknown>('GET', `/api/v1/channels/${encodeURIComponent(id)}/deliveries?limit=20`)).deliveries,
  enableChannel: async (id: string): Promise<Channel> => channelView.parse(await request<unknown>('POST', `/api/v1/channels/${encodeURIComponent(id)}/enable`)),
  resendDelivery: async (id: string) => deliveryEvent.parse(await request<unknown>('POST', `/api/v1/deliveries/${encodeURIComponent(id)}/resend`)),
};

/** A readable message for anything a request can throw. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The server's messages about the named input fields, joined; undefined when it named none of them. */
export function fieldMessage(error: unknown, ...fields: string[]): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  return (
    error.fields
      .filter((f) => fields.includes(f.field))
      .map((f) => f.message)
      .join('; ') || undefined
  );
}
