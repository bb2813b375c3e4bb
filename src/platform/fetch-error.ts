/** A readable reason for a failed `fetch`: it wraps the socket error ("fetch failed"), whose cause says what happened (ECONNREFUSED…). */
export function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause: unknown = error.cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
    }
    return error.message;
  }
  return String(error);
}
