/**
 * Closures compiled once per criterion version from the checked CEL AST, for the subset that most
 * criteria are written in; the engine falls back to cel-js for anything else.
 *
 * Invariants (cel-fast.test.ts compares both on generated expressions and shipments):
 * - Only a CHECKED AST comes here (compileCriterion), and a node is compiled only when its static
 *   type is known and both operands of an operator have the same one; anything else (timestamps,
 *   attributes, int arithmetic, macros, string ordering, size…) makes `compileFast` answer null and
 *   cel-js evaluates the whole expression.
 * - The outcome is cel-js's: an absent field or aggregate is `absent`, `&&` / `||` are commutative
 *   over errors as cel-js has them (false && error = false, true || error = true, and of two errors
 *   the right-hand one wins, as cel-js throws it).
 * - Lists (literal or the organisation's) are Sets, searched in O(1).
 */
import type { ASTNode } from '@marcbachmann/cel-js';

/** A failed sub-evaluation: an absent value (no match) or a runtime error (pauses the criterion). */
export class Fail {
  constructor(
    readonly absent: boolean,
    readonly message: string,
  ) {}
}

type Shipment = Record<string, unknown>;
type Velocity = { readonly values: { get(key: string): number | boolean | null | undefined } };
type Fn = (s: Shipment, v: Velocity) => unknown;
type StaticType = 'string' | 'double' | 'int' | 'bool';
interface Node {
  fn: Fn;
  type: StaticType;
}

/** What the compiler needs to know of the language (passed in by cel.ts, which owns it). */
export interface FastContext {
  /** Shipment fields by CEL type (only string, double and int ones are compiled). */
  fieldTypes: ReadonlyMap<string, string>;
  /** The organisation's lists. */
  lists: ReadonlyMap<string, readonly string[]>;
  /** The aggregate key a velocity call reads and its type, or null when it is not one. */
  velocity(name: string, args: readonly string[]): { key: string; type: StaticType } | null;
}

const absentField = (f: string) => new Fail(true, `shipment.${f} is absent`);

/** The compiled expression (returns true / false / Fail), or null when it is outside the subset. */
export function compileFast(ast: ASTNode, ctx: FastContext): Fn | null {
  const n = node(ast, ctx);
  return n && n.type === 'bool' ? n.fn : null;
}

const isShipmentField = (n: ASTNode): n is ASTNode & { args: [ASTNode, string] } => n.op === '.' && n.args[0].op === 'id' && n.args[0].args === 'shipment';

function node(n: ASTNode, ctx: FastContext): Node | null {
  switch (n.op) {
    case 'value': {
      const v: unknown = n.args;
      if (typeof v === 'string') return { type: 'string', fn: () => v };
      if (typeof v === 'number') return { type: 'double', fn: () => v };
      if (typeof v === 'bigint') return { type: 'int', fn: () => v };
      if (typeof v === 'boolean') return { type: 'bool', fn: () => v };
      return null;
    }
    case '.': {
      if (!isShipmentField(n)) return null;
      const f = n.args[1];
      const t = ctx.fieldTypes.get(f);
      if (t !== 'string' && t !== 'double' && t !== 'int') return null;
      const fail = absentField(f);
      return { type: t, fn: (s) => s[f] ?? fail };
    }
    case '&&':
    case '||': {
      const [a, b] = [node(n.args[0], ctx), node(n.args[1], ctx)];
      if (!a || !b || a.type !== 'bool' || b.type !== 'bool') return null;
      const [f, g] = [a.fn, b.fn];
      const stop = n.op === '||'; // the value that decides alone
      return {
        type: 'bool',
        fn: (s, v) => {
          const x = f(s, v);
          if (x === stop) return stop;
          const y = g(s, v);
          if (y === stop) return stop;
          if (y instanceof Fail) return y;
          if (x instanceof Fail) return x;
          return !stop;
        },
      };
    }
    case '!_': {
      const a = node(n.args as unknown as ASTNode, ctx);
      if (!a || a.type !== 'bool') return null;
      const f = a.fn;
      return {
        type: 'bool',
        fn: (s, v) => {
          const x = f(s, v);
          return x instanceof Fail ? x : !x;
        },
      };
    }
    case '-_': {
      const a = node(n.args as unknown as ASTNode, ctx);
      if (!a || a.type !== 'double') return null;
      const f = a.fn;
      return {
        type: 'double',
        fn: (s, v) => {
          const x = f(s, v);
          return x instanceof Fail ? x : -(x as number);
        },
      };
    }
    case '?:': {
      const [c, a, b] = (n.args as unknown as ASTNode[]).map((x) => node(x, ctx));
      if (!c || !a || !b || c.type !== 'bool' || a.type !== b.type) return null;
      const [cf, af, bf] = [c.fn, a.fn, b.fn];
      return {
        type: a.type,
        fn: (s, v) => {
          const x = cf(s, v);
          return x instanceof Fail ? x : x ? af(s, v) : bf(s, v);
        },
      };
    }
    case '==':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return comparison(n.op, n.args[0], n.args[1], ctx);
    case '+':
    case '-':
    case '*':
    case '/':
      return arithmetic(n.op, n.args[0], n.args[1], ctx);
    case 'in':
      return membership(n.args[0], n.args[1], ctx);
    case 'call': {
      const [name, args] = n.args as unknown as [string, ASTNode[]];
      if (name !== 'has' || args.length !== 1 || !isShipmentField(args[0]!)) return null;
      const f = args[0].args[1];
      if (!ctx.fieldTypes.has(f) || f === 'attributes') return null;
      return { type: 'bool', fn: (s) => s[f] !== undefined && s[f] !== null };
    }
    case 'rcall': {
      const [name, receiver, args] = n.args as unknown as [string, ASTNode, ASTNode[]];
      if (receiver.op !== 'id' || receiver.args !== 'velocity') return null;
      const literals = args.map((a) => (a.op === 'value' && typeof a.args === 'string' ? a.args : null));
      if (literals.some((l) => l === null)) return null;
      const use = ctx.velocity(name, literals as string[]);
      if (!use) return null;
      const { key } = use;
      const fail = new Fail(true, `aggregate ${key} has no value`);
      return {
        type: use.type,
        fn: (_s, v) => {
          const x = v.values.get(key);
          return x === undefined || x === null ? fail : x;
        },
      };
    }
    default:
      return null;
  }
}

function comparison(op: '==' | '!=' | '<' | '<=' | '>' | '>=', l: ASTNode, r: ASTNode, ctx: FastContext): Node | null {
  const [a, b] = [node(l, ctx), node(r, ctx)];
  if (!a || !b || a.type !== b.type) return null;
  // Strings compare by code point in CEL, by UTF-16 unit in JS: only equality is compiled.
  if ((a.type === 'string' || a.type === 'bool') && op !== '==' && op !== '!=') return null;
  const [f, g] = [a.fn, b.fn];
  // Same static type: `==` only coerces between an int aggregate (number) and an int literal (bigint), exactly.
  const test: (x: unknown, y: unknown) => boolean =
    op === '==' ? (x, y) => x == y : op === '!=' ? (x, y) => x != y : op === '<' ? (x, y) => (x as number) < (y as number) : op === '<=' ? (x, y) => (x as number) <= (y as number) : op === '>' ? (x, y) => (x as number) > (y as number) : (x, y) => (x as number) >= (y as number);
  return {
    type: 'bool',
    fn: (s, v) => {
      const x = f(s, v);
      if (x instanceof Fail) return x;
      const y = g(s, v);
      if (y instanceof Fail) return y;
      return test(x, y);
    },
  };
}

/** Double arithmetic only (int arithmetic has overflow and division errors: cel-js keeps it). */
function arithmetic(op: '+' | '-' | '*' | '/', l: ASTNode, r: ASTNode, ctx: FastContext): Node | null {
  const [a, b] = [node(l, ctx), node(r, ctx)];
  if (!a || !b || a.type !== 'double' || b.type !== 'double') return null;
  const [f, g] = [a.fn, b.fn];
  const calc: (x: number, y: number) => number = op === '+' ? (x, y) => x + y : op === '-' ? (x, y) => x - y : op === '*' ? (x, y) => x * y : (x, y) => x / y;
  return {
    type: 'double',
    fn: (s, v) => {
      const x = f(s, v);
      if (x instanceof Fail) return x;
      const y = g(s, v);
      if (y instanceof Fail) return y;
      return calc(x as number, y as number);
    },
  };
}

/** `<string> in [<string literals>]` or `<string> in lists.<name>`: a Set. */
function membership(l: ASTNode, r: ASTNode, ctx: FastContext): Node | null {
  const a = node(l, ctx);
  if (!a || a.type !== 'string') return null;
  let items: readonly string[] | undefined;
  if (r.op === 'list') {
    const values = (r.args as unknown as ASTNode[]).map((x) => (x.op === 'value' && typeof x.args === 'string' ? x.args : null));
    if (values.some((x) => x === null)) return null;
    items = values as string[];
  } else if (r.op === '.' && r.args[0].op === 'id' && r.args[0].args === 'lists') items = ctx.lists.get(r.args[1]);
  if (!items) return null;
  const set = new Set(items);
  const f = a.fn;
  return {
    type: 'bool',
    fn: (s, v) => {
      const x = f(s, v);
      return x instanceof Fail ? x : set.has(x as string);
    },
  };
}
