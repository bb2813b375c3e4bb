import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatches, matchersProblem, parseMatcher, silenceState, silencesFor, type Silence } from './silences.js';

/** The reference the scanning matcher must agree with: the glob as an (escaped) regular expression. */
const reference = (pattern: string, value: string) =>
  new RegExp(`^${[...pattern].map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')}$`).test(value);

describe('silences', () => {
  it('match globs as a whole value, in agreement with a regular-expression reference', () => {
    expect(globMatches('web-*', 'web-1')).toBe(true);
    expect(globMatches('web-*', 'api-web-1')).toBe(false);
    expect(globMatches('*/checkout', '/api/checkout')).toBe(true);
    expect(globMatches('a?c', 'abc')).toBe(true);
    expect(globMatches('', '')).toBe(true);
    const alphabet = fc.constantFrom('a', 'b', '*', '?', '.', '(');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 8 }).map((a) => a.join('')), fc.array(fc.constantFrom('a', 'b', '.', '('), { maxLength: 10 }).map((a) => a.join('')), (pattern, value) => {
        expect(globMatches(pattern, value)).toBe(reference(pattern, value));
      }),
    );
  });

  it('stay polynomial on the patterns that make backtracking engines hang', () => {
    const value = 'a'.repeat(50_000);
    const started = performance.now();
    expect(globMatches(`${'*a'.repeat(200)}b`, value)).toBe(false);
    // A backtracking regex of the same shape does not finish; the scan is bounded by value × stars.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('silence an instance while active and only when every matcher matches', () => {
    const silence: Silence = { id: 's1', matchers: [parseMatcher('rule="5xx by section"'), parseMatcher('section=~"/api*"')], startsAt: 100, endsAt: 200 };
    const labels = { rule: '5xx by section', section: '/api/v2' };
    expect(silencesFor(labels, [silence], 150).map((s) => s.id)).toEqual(['s1']);
    expect(silencesFor({ ...labels, section: '/static' }, [silence], 150)).toEqual([]);
    expect(silencesFor(labels, [silence], 99)).toEqual([]);
    expect(silencesFor(labels, [silence], 200)).toEqual([]);
    expect([99, 100, 199, 200].map((t) => silenceState(silence, t))).toEqual(['pending', 'active', 'active', 'expired']);
    // A label the instance lacks is the empty string (Alertmanager's semantics).
    expect(silencesFor({ rule: 'x' }, [{ id: 's2', matchers: [parseMatcher('rule=x'), parseMatcher('env!="prod"')], startsAt: 0, endsAt: 10 }], 5)).toHaveLength(1);
  });

  it('parse matchers as amtool writes them, and name what is wrong', () => {
    expect(parseMatcher('severity="critical"')).toEqual({ name: 'severity', op: '=', value: 'critical' });
    expect(parseMatcher(' host =~ "web-*" ')).toEqual({ name: 'host', op: '=~', value: 'web-*' });
    expect(parseMatcher('env!=prod')).toEqual({ name: 'env', op: '!=', value: 'prod' });
    expect(parseMatcher('msg!~"say \\"hi\\"*"')).toEqual({ name: 'msg', op: '!~', value: 'say "hi"*' });
    expect(() => parseMatcher('severity ~ critical')).toThrow(/"severity ~ critical" is not a matcher: write name="value"/);
    expect(() => parseMatcher('1abc="x"')).toThrow(/not a matcher/);
  });

  it('refuse matchers that would silence everything', () => {
    expect(matchersProblem([])).toMatch(/at least one matcher/);
    expect(matchersProblem([parseMatcher('env!="prod"')])).toMatch(/silence everything/);
    expect(matchersProblem([parseMatcher('severity=~"*"')])).toMatch(/silence everything/);
    expect(matchersProblem([parseMatcher('severity=~"*"'), parseMatcher('rule="high traffic"')])).toBeNull();
    expect(matchersProblem([{ name: 'host', op: '=~', value: `${'*a'.repeat(200)}` }])).toMatch(/at most 256 characters/);
    expect(matchersProblem(Array.from({ length: 17 }, (_, i) => ({ name: `l${i}`, op: '=' as const, value: 'x' })))).toMatch(/at most 16 matchers/);
  });
});
