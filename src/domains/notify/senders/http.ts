import { Agent, request } from 'undici';
import { assertPublicLiteral, guardedLookup, parseTargetUrl } from '../ssrf.js';

/** What one delivery attempt produced; the worker records it in `delivery_attempts`. */
export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** The delivery can never succeed as configured: the notifier gives up now instead of retrying. */
  permanent?: boolean;
}

/**
 * Thrown by senders for a delivery that can never succeed as the channel is configured (a target
 * URL that is not one, a refused address, no SMTP server…): retrying would only delay the reason
 * reaching the user by ten attempts.
 */
export class PermanentDeliveryError extends Error {
  readonly permanent = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentDeliveryError';
  }
}

/** Whether an error, or one of its causes (undici wraps what its DNS lookup threw), is permanent. */
export function isPermanentFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if ((current as { permanent?: unknown }).permanent === true) return true;
    current = current.cause;
  }
  return false;
}

/**
 * Answers that retrying the same request cannot change: 410 Gone (the receiver says the hook is
 * gone for good) and permanent redirects (not followed; the channel's URL must change). Other 4xx
 * are retried: a receiver being deployed answers 404, one rotating its secret 401, for a while.
 */
export const isPermanentStatus = (status: number): boolean => status === 410 || status === 301 || status === 308;

/** Longest a receiver may take to accept the connection, send headers, or send each body chunk. */
export const HTTP_TIMEOUT_MS = 10_000;
/** How much of a failing receiver's answer is kept in the attempt's error, so users see why. */
const ERROR_BODY_BYTES = 300;

/**
 * Outgoing HTTP for webhook and Slack channels: one undici Agent (keep-alive pool) with timeouts
 * and, unless private targets are allowed, the SSRF-guarded DNS lookup pinned into the socket.
 */
export class HttpSender {
  private readonly agent: Agent;

  constructor(
    private readonly allowPrivate: boolean,
    timeoutMs = HTTP_TIMEOUT_MS,
  ) {
    this.agent = new Agent({
      connect: { timeout: timeoutMs, ...(allowPrivate ? {} : { lookup: guardedLookup }) },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // A notifier talks to many receivers now and then; idle sockets need not linger.
      keepAliveTimeout: 4_000,
    });
  }

  /** POSTs `body`; 2xx is success. Redirects are not followed (a redirect could point inside the network). */
  async postJson(rawUrl: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    let url: URL;
    try {
      url = parseTargetUrl(rawUrl);
    } catch (error) {
      throw new PermanentDeliveryError(`the channel's URL is not usable: ${(error as Error).message}`, { cause: error });
    }
    if (!this.allowPrivate) assertPublicLiteral(url);
    const response = await request(url, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/json', 'user-agent': 'Vigil-Notifier/1', ...headers },
      body,
    });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      await response.body.dump();
      return { ok: true, statusCode: response.statusCode, error: null };
    }
    const snippet = await readSnippet(response.body);
    const status = response.statusCode;
    const permanent = isPermanentStatus(status);
    const location = response.headers.location;
    const moved = permanent && status !== 410 && typeof location === 'string' ? ` (moved to ${location.slice(0, 300)}: update the channel's URL)` : '';
    return { ok: false, statusCode: status, error: `HTTP ${status}${snippet ? `: ${snippet}` : ''}${moved}`, permanent };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

async function readSnippet(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= ERROR_BODY_BYTES) break; // leaving the loop destroys the stream: no need to read a huge error page
    }
  } catch {
    // The receiver's error body is a courtesy; failing to read it changes nothing.
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > ERROR_BODY_BYTES ? `${text.slice(0, ERROR_BODY_BYTES)}…` : text;
}
