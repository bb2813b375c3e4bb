/**
 * A readable reason for a failed network call: the error's message and those of its causes, with
 * their codes (fetch wraps the socket error as "fetch failed"; its cause says what happened:
 * ECONNREFUSED, a TLS failure…). Shared by the notifier, `vigil run` and the InfluxDB sink.
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (current instanceof Error) {
      const code = (current as NodeJS.ErrnoException).code;
      const text = code && !current.message.includes(code) ? `${current.message} (${code})` : current.message;
      if (text && !parts.some((p) => p.includes(text))) parts.push(text);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(': ') || 'unknown error';
}
