/**
 * Poison isolation for the stream processor: telling a batch that failed because of what it holds
 * (one event the database or the code cannot take) from one that failed because the database is
 * away, and finding the events to set aside. Pure apart from the `attempt` callback.
 */

/**
 * SQLSTATE classes caused by the values written, not by the server's state: 21 cardinality
 * violation (two rows of one INSERT … ON CONFLICT with the same key), 22 data exception (out of range,
 * invalid text or JSON, untranslatable character), 23 integrity constraint violation, 54 program
 * limit exceeded (index row too large, stack depth of a nested jsonb).
 */
const DATA_CLASSES = new Set(['21', '22', '23', '54']);

/**
 * Whether an error is about the data (retrying the same batch fails the same way) rather than about
 * the database being unreachable, restarting or overloaded. Only these start a search for poison:
 * an outage must never set events aside. Errors JavaScript raises while preparing values (a stack
 * overflow serialising, a BigInt, an invalid Date) are data errors; anything else, including every
 * connection error, is not.
 */
export function isDataError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return DATA_CLASSES.has(code.slice(0, 2));
  if (code !== undefined) return false; // ECONNRESET, ETIMEDOUT...: a connection problem
  return error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError;
}

/** What to do with one item found to fail alone. */
export interface Poisoned<T> {
  item: T;
  error: unknown;
}

/**
 * The items that make `attempt` fail with a data error, found by halving: `attempt(items)` resolves
 * (undefined) when the items would commit, or returns the data error they hit. A half that fails is
 * halved again; a single failing item is poison. Costs O(k log n) attempts for k poison items.
 * Rejects (stops searching) as soon as an attempt fails with an error that is not a data error:
 * the database went away, and nothing may be set aside because of that.
 */
export async function findPoison<T>(items: readonly T[], attempt: (subset: readonly T[]) => Promise<unknown>): Promise<Poisoned<T>[]> {
  const found: Poisoned<T>[] = [];
  const search = async (subset: readonly T[], known?: unknown): Promise<void> => {
    if (subset.length === 0) return;
    const error = known ?? (await attempt(subset));
    if (error === undefined) return;
    if (subset.length === 1) {
      found.push({ item: subset[0]!, error });
      return;
    }
    const half = Math.ceil(subset.length / 2);
    await search(subset.slice(0, half));
    await search(subset.slice(half));
  };
  await search(items);
  return found;
}
