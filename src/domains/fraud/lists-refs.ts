/**
 * Which of the organisation's lists an expression reads: `lists.blocked_senders` or
 * `lists['blocked_senders']`. A list's `used_by`, and the refusal to delete a list a criterion
 * still reads, rest on it.
 *
 * A small scanner rather than a regular expression over the text: a `lists.x` inside a string
 * literal ("see lists.x") or a comment is not a use. It knows CEL's lexical forms of strings
 * (single, double, triple quotes; raw and bytes prefixes) and `//` comments; the type checker has
 * already refused anything else malformed before a criterion is saved.
 */

const IDENT = /[A-Za-z0-9_]/;

/** A string literal starting at `i` (after any r/b prefix): its end index and its value (escapes kept as written). */
function readString(text: string, i: number, raw: boolean): { end: number; value: string } {
  const quote = text[i]!;
  const triple = text.startsWith(quote.repeat(3), i);
  const close = triple ? quote.repeat(3) : quote;
  let j = i + close.length;
  let value = '';
  while (j < text.length) {
    if (!raw && text[j] === '\\') {
      value += text.slice(j, j + 2);
      j += 2;
      continue;
    }
    if (text.startsWith(close, j)) return { end: j + close.length, value };
    if (!triple && text[j] === '\n') break;
    value += text[j];
    j++;
  }
  return { end: text.length, value };
}

/** The names of the lists the expression reads, sorted, each once. */
export function listsUsedIn(expression: string): string[] {
  const used = new Set<string>();
  const text = expression;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      i = readString(text, i, false).end;
      continue;
    }
    if (IDENT.test(c)) {
      let j = i;
      while (j < text.length && IDENT.test(text[j]!)) j++;
      const word = text.slice(i, j);
      // r'…', b'…', rb'…': a prefixed string literal, not an identifier.
      if (/^[rRbB]{1,2}$/.test(word) && (text[j] === '"' || text[j] === "'")) {
        i = readString(text, j, /[rR]/.test(word)).end;
        continue;
      }
      // `lists` as a member of something else (x.lists.y) is not the variable.
      const member = i > 0 && /\.\s*$/.test(text.slice(Math.max(0, i - 20), i));
      if (word === 'lists' && !member) {
        let k = j;
        while (k < text.length && /\s/.test(text[k]!)) k++;
        if (text[k] === '.') {
          k++;
          while (k < text.length && /\s/.test(text[k]!)) k++;
          const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(k));
          if (m) used.add(m[0]);
        } else if (text[k] === '[') {
          k++;
          while (k < text.length && /\s/.test(text[k]!)) k++;
          if (text[k] === '"' || text[k] === "'") {
            const s = readString(text, k, false);
            used.add(s.value);
          }
        }
      }
      i = j;
      continue;
    }
    i++;
  }
  return [...used].sort();
}
