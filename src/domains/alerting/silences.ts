/**
 * Silences: which alert instances a user asked not to be told about, and when. Pure: labels,
 * silences and an instant in, the matching silences out.
 *
 * Invariants:
 * - A silence matches an instance when every one of its matchers matches the instance's labels
 *   (Alertmanager's semantics: a label the instance lacks is the empty string, so `env!="prod"`
 *   matches an instance without `env`).
 * - It is active on [startsAt, endsAt): pending before, expired after. Nothing is deleted: an
 *   expired silence stays in the history of what it suppressed.
 * - Pattern matchers (`=~`, `!~`) are globs (`*` any run of characters, `?` one character) over the
 *   whole value, matched by a two-pointer scan in at most (pattern length × value length) steps: no
 *   regular expression written by a user ever runs, so no matcher backtracks exponentially (no ReDoS).
 * - A silence needs at least one matcher that does not match the empty string (`env!="prod"` or
 *   `severity=~"*"` alone is refused: it would silence nearly every alert of the organisation).
 */

/** Bounds on what a user may write, so matching stays cheap (see `globMatches`). */
export const MAX_MATCHERS = 16;
export const MAX_MATCHER_TEXT = 256;

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
}

export type SilenceState = 'pending' | 'active' | 'expired';

export const silenceState = (s: Silence, at: number): SilenceState => (at < s.startsAt ? 'pending' : at < s.endsAt ? 'active' : 'expired');

/** Whether `value` matches the glob `pattern` as a whole (`*`: any run, `?`: one character); O(pattern × value). */
export function globMatches(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  // Where the last `*` was, and how much of the value it has taken so far (the only backtrack point).
  let star = -1;
  let starV = 0;
  while (v < value.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === value[v])) {
      p++;
      v++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      starV = v;
    } else if (star >= 0) {
      p = star + 1;
      v = ++starV;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export function matcherMatches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const value = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return globMatches(m.value, value);
    case '!~':
      return !globMatches(m.value, value);
  }
}

/** The silences active at `at` that match these labels (empty: the instance is not silenced). */
export function silencesFor(labels: Readonly<Record<string, string>>, silences: readonly Silence[], at: number): Silence[] {
  return silences.filter((s) => silenceState(s, at) === 'active' && s.matchers.every((m) => matcherMatches(m, labels)));
}

/**
 * Why a set of matchers cannot make a silence, or null when it can. As Alertmanager: at least one
 * matcher must not match the empty string, else the silence would match alerts that lack every
 * label it names — in practice, everything.
 */
export function matchersProblem(matchers: readonly Matcher[]): string | null {
  if (matchers.length === 0) return 'a silence needs at least one matcher';
  if (matchers.length > MAX_MATCHERS) return `a silence takes at most ${MAX_MATCHERS} matchers`;
  // The scan is O(pattern × value): a bounded pattern keeps every match cheap whatever the label.
  const long = matchers.find((m) => m.name.length > MAX_MATCHER_TEXT || m.value.length > MAX_MATCHER_TEXT);
  if (long) return `matcher ${long.name.slice(0, 40)}: names and values are at most ${MAX_MATCHER_TEXT} characters`;
  if (matchers.every((m) => matcherMatches(m, {}))) {
    return 'these matchers also match alerts without those labels, so they would silence everything: add one such as rule="high traffic"';
  }
  return null;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*$/;

/**
 * Parses one matcher as Alertmanager and amtool write it: `name="value"`, `name!=value`,
 * `name=~"web-*"` (a glob here). Throws with what is wrong, for a 400 that names the matcher.
 */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new Error(`"${text}" is not a matcher: write name="value", name!="value", name=~"glob*" or name!~"glob*"`);
  const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '');
  return { name: m[1]!, op: m[2] as MatchOp, value };
}
