/** One access-log line, parsed and normalised (whatever the line's format). */
export interface AccessRecord {
  /** Request time, unix seconds (UTC). */
  time: number;
  /** Remote host (client address) as logged. */
  host: string;
  /** Authenticated user as logged ("-" when none). */
  user: string;
  method: string;
  /** Request target as logged (path and query; a proxy's absolute URL is reduced to its path). */
  path: string;
  /** Protocol as logged (e.g. "HTTP/1.1"); "" when the request line has none (HTTP/0.9). */
  protocol: string;
  /** The path's part before its second `/`: `/api/user` → `/api`, `/report` → `/report`. */
  section: string;
  status: number;
  /** Response size in bytes (0 when logged as "-"). */
  bytes: number;
  /** Combined Log Format only. */
  referer?: string;
  /** Combined Log Format only. */
  userAgent?: string;
}

export type ParseResult = { ok: true; record: AccessRecord } | { ok: false; reason: string };

export const reject = (reason: string): ParseResult => ({ ok: false, reason });

/** Shortens a field quoted in a rejection reason, so a huge bad line does not make a huge message. */
export function excerpt(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}
