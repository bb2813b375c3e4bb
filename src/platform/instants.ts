/**
 * Instants and durations as users write them in API fields and URLs, parsed one way everywhere
 * (statistics ranges, rule previews, silences, mute windows): ISO 8601 *with a zone* (a zone-less
 * date-time would be read in the server's zone, so it is refused rather than guessed), unix
 * seconds, "now" and "now-<duration>".
 */
const DAY = 86_400;

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: DAY, w: 7 * DAY };

/** "10" or "10s", "5m", "1h", "7d", "2w" → seconds; null when it is none of these. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/i.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * (DURATION_UNITS[(match[2] || 's').toLowerCase()] ?? 1);
  return Number.isFinite(seconds) ? seconds : null;
}

/**
 * An instant as unix seconds: ISO 8601 with a zone ("2026-03-01T12:00:00Z"), unix seconds
 * ("1772366400"), "now", or "now-<duration>" ("now-6h") for hand-written URLs; null otherwise.
 */
export function parseInstant(text: string, nowSeconds: number): number | null {
  const value = text.trim();
  if (/^\d{9,11}(\.\d+)?$/.test(value)) return Number(value);
  const relative = /^now(?:\s*-\s*(.+))?$/i.exec(value);
  if (relative) {
    if (relative[1] === undefined) return nowSeconds;
    const ago = parseDuration(relative[1]);
    return ago === null ? null : nowSeconds - ago;
  }
  // A date-time without a zone would be read in the server's zone: refuse rather than guess.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms / 1000;
}
