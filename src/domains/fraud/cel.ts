/**
 * The criteria language: CEL (`@marcbachmann/cel-js`) over `shipment`, `lists` and `velocity`.
 *
 * Invariants kept here:
 * - Every expression the engine runs went through `checkExpression` (compile refuses what the
 *   checker refuses), so an evaluation can neither hang nor exhaust memory: the text is ≤ 4000
 *   characters, the AST ≤ MAX_AST_NODES nodes and ≤ MAX_DEPTH deep, `matches` (user regular
 *   expressions: ReDoS) and `cel.bind` (doubling strings/lists without bound) are refused, and a
 *   static cost estimate bounds comprehensions (`exists`, `all`, `map`, `filter`…) by the size of
 *   what they iterate, counting every list of the organisation at its largest allowed size
 *   (MAX_LIST_ITEMS) since lists grow after a criterion is saved.
 * - `velocity.*` arguments are string literals, so the aggregates a criterion needs are known at
 *   save time (`aggregates`), computed before evaluation and only read during it.
 * - An absent value (a null shipment field, a missing attribute, an aggregate over an absent key)
 *   makes the shipment NOT match (outcome `absent`, counted) — it is a property of the data, not of
 *   the criterion, so it never pauses a criterion. `has(shipment.x)` tests presence. Any other
 *   runtime error (division by zero, overflow…) is `error`, which pauses the criterion.
 */
import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { MAX_EXPRESSION_CHARS, MAX_LIST_ITEMS, SHIPMENT_CEL_FIELDS, type AggregateUse, type CelFieldType, type ExpressionCheck, type FraudSchema, type ShipmentCelField } from '../../contracts/fraud.js';
import { compileFast, Fail } from './cel-fast.js';

/** The organisation's lists as the checker needs them: name → number of items. */
export type ListSizes = ReadonlyMap<string, number>;

const MAX_AST_NODES = 1500;
const MAX_DEPTH = 32;
/** Static cost bound: roughly "steps" of one evaluation (a list of the organisation counts as MAX_LIST_ITEMS). */
const MAX_COST = 5_000_000;
/** Longest velocity window: history older than this is never read. */
export const MAX_WINDOW_MS = 90 * 24 * 3600_000;

// --- the shipment as criteria see it -----------------------------------------------------------

const FIELD_TYPES = new Map(SHIPMENT_CEL_FIELDS.map((f) => [f.name, f.type]));
/** Fields an aggregate may group by, count distinct values of, or ask "first time" about. */
const STRING_FIELDS = new Set(SHIPMENT_CEL_FIELDS.filter((f) => f.type === 'string').map((f) => f.name));
/** Fields an aggregate may sum or average. */
const NUMERIC_FIELDS = new Set(SHIPMENT_CEL_FIELDS.filter((f) => f.type === 'double' || f.type === 'int').map((f) => f.name));

/** One stored shipment as the engine reads it (snake_case columns; nulls for absent values). */
export interface ShipmentRecord {
  id: string;
  org_id: string;
  external_id: string;
  created_at: Date;
  attributes: Record<string, unknown>;
  [field: string]: unknown;
}

/** The `shipment` variable: absent (null) fields are left unset so reading them is `absent`. */
class CelShipment {
  [field: string]: unknown;
}

/** An aggregate's value by aggregateKey (undefined: not computed); a Map is one, so is aggregates.ts's table. */
export interface VelocityValues {
  get(key: string): number | boolean | null | undefined;
}

/** The `velocity` variable of one evaluation: the aggregates computed for this shipment. */
export class CelVelocity {
  constructor(readonly values: VelocityValues) {}
}

/** The `lists` variable: the organisation's lists by name. */
class CelLists {
  [name: string]: unknown;
}

/** Thrown by a velocity function whose entity is absent (the key field is null on this shipment). */
class AbsentValue extends Error {}

/** The stable key of an aggregate (the same use read twice is computed once). */
export const aggregateKey = (a: AggregateUse): string => `${a.kind}|${a.key}|${a.field ?? ''}|${a.window ?? ''}`;

function velocityRead(receiver: CelVelocity, key: string): number | boolean {
  const v = receiver.values.get(key);
  if (v === undefined || v === null) throw new AbsentValue(`aggregate ${key} has no value (its key field is absent on this shipment)`);
  return v;
}

const fieldTypeName = (t: CelFieldType): string => (t === 'timestamp' ? 'google.protobuf.Timestamp' : t === 'map(string, dyn)' ? 'map<string, dyn>' : t);

interface VelocityDef {
  kind: AggregateUse['kind'];
  params: { name: string; type: 'string'; description: string }[];
  returns: 'int' | 'double' | 'bool';
  description: string;
  example: string;
}

const VELOCITY: readonly VelocityDef[] = [
  {
    kind: 'count',
    params: [
      { name: 'key', type: 'string', description: 'the entity field, e.g. sender_id' },
      { name: 'window', type: 'string', description: 'e.g. "1h", "7d" (at most 90d)' },
    ],
    returns: 'int',
    description: "Shipments with the same `key` value created in the window ending at this shipment's created_at, this one included",
    example: "velocity.count('sender_id', '1h') > 20",
  },
  {
    kind: 'sum',
    params: [
      { name: 'key', type: 'string', description: 'the entity field' },
      { name: 'field', type: 'string', description: 'a numeric field, e.g. declared_value_usd' },
      { name: 'window', type: 'string', description: 'e.g. "1d"' },
    ],
    returns: 'double',
    description: 'Sum of `field` over the entity\'s shipments in the window, this one included (absent values count as 0)',
    example: "velocity.sum('sender_id', 'declared_value_usd', '1d') > 50000.0",
  },
  {
    kind: 'avg',
    params: [
      { name: 'key', type: 'string', description: 'the entity field' },
      { name: 'field', type: 'string', description: 'a numeric field' },
      { name: 'window', type: 'string', description: 'e.g. "90d"' },
    ],
    returns: 'double',
    description: "Average of `field` over the entity's EARLIER shipments in the window (this one excluded); 0.0 when none",
    example: "shipment.declared_value_usd > 10.0 * velocity.avg('sender_id', 'declared_value_usd', '90d')",
  },
  {
    kind: 'distinct',
    params: [
      { name: 'key', type: 'string', description: 'the entity field' },
      { name: 'field', type: 'string', description: 'the field whose distinct values are counted' },
      { name: 'window', type: 'string', description: 'e.g. "7d"' },
    ],
    returns: 'int',
    description: 'Distinct values of `field` among the entity\'s shipments in the window, this one included',
    example: "velocity.distinct('recipient_address', 'sender_id', '7d') >= 5",
  },
  {
    kind: 'first',
    params: [
      { name: 'key', type: 'string', description: 'the entity field' },
      { name: 'field', type: 'string', description: 'the field whose value is new for the entity' },
    ],
    returns: 'bool',
    description: 'True when no earlier shipment of the entity has this shipment\'s `field` value (all history up to 90 days)',
    example: "velocity.first('sender_id', 'destination_country')",
  },
];

let baseEnv: Environment | undefined;
function base(): Environment {
  if (baseEnv) return baseEnv;
  const fields: Record<string, string> = {};
  for (const f of SHIPMENT_CEL_FIELDS) fields[f.name] = fieldTypeName(f.type);
  let env = new Environment({
    limits: { maxAstNodes: MAX_AST_NODES, maxDepth: MAX_DEPTH, maxListElements: 1000, maxMapEntries: 100, maxCallArguments: 8 },
  })
    .registerType('Shipment', { ctor: CelShipment, fields })
    .registerType('Velocity', { ctor: CelVelocity, fields: {} })
    .registerVariable('shipment', 'Shipment', { description: 'The shipment being evaluated' })
    .registerVariable('velocity', 'Velocity', { description: 'Velocity aggregates as of the shipment\'s creation time' });
  for (const v of VELOCITY) {
    env = env.registerFunction({
      name: v.kind,
      receiverType: 'Velocity',
      returnType: v.returns,
      params: v.params.map((p) => ({ name: p.name, type: p.type, description: p.description })),
      description: v.description,
      // The checker guarantees literal arguments; the key is the same as aggregateKey's. An int
      // aggregate is handed to cel-js as a BigInt like every CEL int: as a JS number, `== 5` was
      // never true (5 !== 5n) and `+ 1` threw (mixing BigInt), pausing the criterion.
      handler: (r: CelVelocity, key: string, a: string, b?: string) => {
        const value = velocityRead(r, v.kind === 'count' ? `count|${key}||${a}` : v.kind === 'first' ? `first|${key}|${a}|` : `${v.kind}|${key}|${a}|${b ?? ''}`);
        return v.returns === 'int' && typeof value === 'number' ? BigInt(Math.trunc(value)) : value;
      },
    });
  }
  baseEnv = env;
  return env;
}

/** A velocity call as cel-fast.ts compiles it: the key its handler reads (see base()) and its type. */
function fastVelocity(name: string, args: readonly string[]): { key: string; type: 'int' | 'double' | 'bool' } | null {
  const def = VELOCITY.find((v) => v.kind === name);
  if (!def || args.length !== def.params.length) return null;
  const [key, a, b] = args;
  const k = name === 'count' ? `count|${key}||${a}` : name === 'first' ? `first|${key}|${a}|` : `${name}|${key}|${a}|${b ?? ''}`;
  return { key: k, type: def.returns };
}

/**
 * Environments by list names, reused: a detector compiling 1,000 criteria of 100 organisations
 * cloned the base environment 1,000 times. Bounded (oldest dropped): list names are few per
 * organisation, but organisations are many.
 */
const envs = new Map<string, Environment>();
const MAX_ENVS = 256;

/** An environment knowing the organisation's list names (an unknown list is a type error naming it), from `envs` or made and kept there. */
function envFor(listNames: Iterable<string>): Environment {
  const names = [...listNames].sort();
  const key = JSON.stringify(names);
  const hit = envs.get(key);
  if (hit) return hit;
  const fields: Record<string, string> = {};
  for (const name of names) fields[name] = 'list<string>';
  const env = base().clone().registerType('Lists', { ctor: CelLists, fields }).registerVariable('lists', 'Lists', { description: "The organisation's lists" });
  if (envs.size >= MAX_ENVS) envs.delete(envs.keys().next().value!);
  envs.set(key, env);
  return env;
}

// --- checking ----------------------------------------------------------------------------------

type Problem = ExpressionCheck['errors'][number];

function position(expression: string, offset: number | undefined): { line: number | null; column: number | null } {
  if (offset === undefined || offset < 0) return { line: null, column: null };
  const before = expression.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

function problemAt(expression: string, message: string, offset?: number): Problem {
  return { message, ...position(expression, offset) };
}

/** The library's message without its source excerpt (the editor shows line/column itself). */
function summaryOf(e: unknown): string {
  if (e && typeof e === 'object' && 'summary' in e && typeof e.summary === 'string' && e.summary) return e.summary;
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0] ?? m;
}

function rangeStart(e: unknown): number | undefined {
  if (e && typeof e === 'object' && 'range' in e) {
    const r = (e as { range?: { start?: number } }).range;
    if (r && typeof r.start === 'number') return r.start;
  }
  return undefined;
}

const WINDOW = /^([1-9][0-9]{0,4})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a window such as "1h" (null when it is not one). */
export function windowMs(window: string): number | null {
  const m = WINDOW.exec(window);
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

interface Walk {
  problems: Problem[];
  aggregates: Map<string, AggregateUse>;
  fields: Set<string>;
  /** References to `shipment` minus those of the form shipment.<field> (0: only named fields are read). */
  shipmentRefs: number;
}

/** Children of a node (the library's AST: args are nodes, node lists or names). */
function children(node: ASTNode): ASTNode[] {
  const out: ASTNode[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else if (v && typeof v === 'object' && 'op' in v) out.push(v as ASTNode);
  };
  if (node.op === 'value' || node.op === 'id') return out;
  visit(node.args);
  return out;
}

const isListsRef = (n: ASTNode): boolean => n.op === '.' && n.args[0].op === 'id' && n.args[0].args === 'lists';

/** Size of what a node can hold at most (for the cost of iterating or searching it). */
function sizeOf(n: ASTNode): number {
  if (n.op === 'list') return n.args.length;
  if (n.op === 'map') return n.args.length;
  if (isListsRef(n)) return MAX_LIST_ITEMS;
  if (n.op === 'rcall' && (n.args[0] === 'map' || n.args[0] === 'filter')) return sizeOf(n.args[1]);
  if (n.op === '+') return sizeOf(n.args[0]) + sizeOf(n.args[1]);
  // A string field, attribute or literal: bounded by the shipment's own limits (≤ 4096 bytes) —
  // a constant factor per step, not a multiplier of iterations.
  return 1;
}

/** Static cost estimate: steps one evaluation may take at most. */
function costOf(n: ASTNode): number {
  const kids = children(n);
  let own = 1;
  if (n.op === 'rcall') {
    const [name, receiver, args] = n.args;
    if (MACROS.has(name)) {
      const body = args.slice(1).reduce((s, a) => s + costOf(a), 1);
      return costOf(receiver) + sizeOf(receiver) * body;
    }
    own += sizeOf(receiver);
  } else if (n.op === 'in') own += sizeOf(n.args[1]);
  else if (n.op === 'call' && n.args[0] === 'size') own += 1;
  return kids.reduce((s, k) => s + costOf(k), own);
}

function walk(expression: string, n: ASTNode, w: Walk): void {
  const stack: ASTNode[] = [n];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.op === 'rcall' || node.op === 'call') {
      const name = node.args[0];
      if (name === 'matches') {
        w.problems.push(problemAt(expression, 'matches() is not available: regular expressions are not allowed in criteria (use contains, startsWith, endsWith or a list)', node.start));
      }
      if (node.op === 'rcall' && name === 'bind' && node.args[1].op === 'id' && node.args[1].args === 'cel') {
        w.problems.push(problemAt(expression, 'cel.bind is not available in criteria', node.start));
      }
      if (node.op === 'rcall' && node.args[1].op === 'id' && node.args[1].args === 'velocity') velocityUse(expression, node.args[0], node.args[2], node.start, w);
    }
    if (node.op === '.' && node.args[0].op === 'id' && node.args[0].args === 'shipment') w.fields.add(node.args[1]);
    // `shipment` used other than as shipment.<field> (e.g. [shipment].exists(s, s.pieces > 1)): any field may be read.
    if (node.op === 'id' && node.args === 'shipment') w.shipmentRefs++;
    if (node.op === '.' && node.args[0].op === 'id' && node.args[0].args === 'shipment') w.shipmentRefs--;
    stack.push(...children(node));
  }
}

function velocityUse(expression: string, name: string, args: ASTNode[], at: number, w: Walk): void {
  const def = VELOCITY.find((v) => v.kind === name);
  if (!def) return; // the type checker names the unknown function
  const literal: string[] = [];
  for (const [i, a] of args.entries()) {
    if (a.op !== 'value' || typeof a.args !== 'string') {
      w.problems.push(problemAt(expression, `velocity.${name}: argument ${i + 1} (${def.params[i]?.name ?? '?'}) must be a string literal such as '${i === 0 ? 'sender_id' : def.params[i]?.name === 'window' ? '1h' : 'declared_value_usd'}'`, a.start));
      return;
    }
    literal.push(a.args);
  }
  if (literal.length !== def.params.length) return; // the type checker reports the arity
  const key = literal[0]!;
  const field = name === 'count' ? null : literal[1]!;
  const window = name === 'first' ? null : literal[literal.length - 1]!;
  if (!STRING_FIELDS.has(key)) {
    w.problems.push(problemAt(expression, `velocity.${name}: key '${key}' is not a text field of the shipment (e.g. sender_id, recipient_address, destination_country)`, args[0]!.start));
    return;
  }
  if (field !== null) {
    const ok = name === 'sum' || name === 'avg' ? NUMERIC_FIELDS.has(field) : STRING_FIELDS.has(field);
    if (!ok) {
      const want = name === 'sum' || name === 'avg' ? 'a numeric field of the shipment (e.g. declared_value_usd, weight_kg, pieces)' : 'a text field of the shipment (e.g. sender_id, destination_country)';
      w.problems.push(problemAt(expression, `velocity.${name}: field '${field}' must be ${want}`, args[1]!.start));
      return;
    }
  }
  if (window !== null) {
    const ms = windowMs(window);
    if (ms === null || ms > MAX_WINDOW_MS) {
      w.problems.push(problemAt(expression, `velocity.${name}: window '${window}' must be a number and a unit s, m, h or d, at most 90d (e.g. '1h', '7d')`, args[args.length - 1]!.start));
      return;
    }
  }
  void at;
  const use: AggregateUse = { kind: def.kind, key, field, window };
  w.aggregates.set(aggregateKey(use), use);
}

interface Checked {
  check: ExpressionCheck;
  fields: string[];
  allFields: boolean;
  /** The parsed expression (parsed once: checking and compiling share it). */
  parsed: ReturnType<Environment['parse']> | null;
}

function checkWith(expression: string, env: Environment): Checked {
  const fail = (errors: Problem[]): Checked => ({ check: { ok: false, type: null, errors, aggregates: [] }, fields: [], allFields: true, parsed: null });
  if (expression.length > MAX_EXPRESSION_CHARS) return fail([{ message: `The expression has ${expression.length} characters; at most ${MAX_EXPRESSION_CHARS} are allowed`, line: null, column: null }]);
  if (expression.trim() === '') return fail([{ message: 'The expression is empty; write a condition such as shipment.declared_value_usd > 5000.0', line: 1, column: 1 }]);
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(expression);
  } catch (e) {
    return fail([problemAt(expression, summaryOf(e), rangeStart(e))]);
  }
  const w: Walk = { problems: [], aggregates: new Map(), fields: new Set(), shipmentRefs: 0 };
  const ast = parsed.ast;
  walk(expression, ast, w);
  const typed = parsed.check();
  if (!typed.valid) w.problems.unshift(problemAt(expression, summaryOf(typed.error), rangeStart(typed.error)));
  else if (typed.type !== 'bool') w.problems.push({ message: `The expression is of type ${typed.type ?? 'unknown'}; a criterion must be a condition (bool), e.g. compare it: ... > 0`, line: 1, column: 1 });
  if (w.problems.length === 0) {
    const cost = costOf(ast);
    if (cost > MAX_COST) {
      w.problems.push({ message: `The expression may take too long to evaluate (estimated ${cost.toExponential(1)} steps, at most ${MAX_COST.toExponential(0)}): avoid nesting comprehensions (exists, all, map, filter) or searching lists inside them`, line: null, column: null });
    }
  }
  return {
    check: { ok: w.problems.length === 0, type: typed.valid ? (typed.type ?? null) : null, errors: w.problems, aggregates: [...w.aggregates.values()] },
    fields: [...w.fields],
    allFields: w.shipmentRefs !== 0,
    parsed,
  };
}

/** Type-checks an expression for an organisation with these lists: problems with line/column, its type, the aggregates it uses. */
export function checkExpression(expression: string, lists: ListSizes): ExpressionCheck {
  const check = checkWith(expression, envFor(lists.keys())).check;
  return { ...check, errors: check.errors.map((p) => unknownNameExplained(expression, p, [...lists.keys()])) };
}

/**
 * The library says "No such key: x" for both a misspelt shipment field and a list the organisation
 * does not have; the editor's user needs to know which, and what exists instead.
 */
function unknownNameExplained(expression: string, problem: Problem, lists: string[]): Problem {
  const name = /^No such key: (\w+)$/.exec(problem.message)?.[1];
  if (!name || problem.line === null || problem.column === null) return problem;
  const before = (expression.split('\n')[problem.line - 1] ?? '').slice(0, problem.column - 1).trimEnd();
  if (before.endsWith('lists.')) {
    const have = lists.length ? `its lists are ${[...lists].sort().join(', ')}` : 'it has no list yet';
    return { ...problem, message: `No list named '${name}' in this organisation (${have}); create it under Fraud → Lists or POST /api/v1/fraud/lists` };
  }
  if (before.endsWith('shipment.')) {
    return { ...problem, message: `A shipment has no field '${name}' (the fields are listed by GET /api/v1/fraud/schema; your own fields are read as shipment.attributes['${name}'])` };
  }
  return problem;
}

/** What the editor offers: fields, functions (with examples) and the organisation's lists. */
export function fraudSchemaFor(lists: ListSizes): FraudSchema {
  return {
    fields: SHIPMENT_CEL_FIELDS.map((f) => ({ name: `shipment.${f.name}`, type: f.type, description: f.description })),
    functions: [
      ...VELOCITY.map((v) => ({
        signature: `velocity.${v.kind}(${v.params.map((p) => `${p.name}: ${p.type}`).join(', ')}) -> ${v.returns}`,
        description: `${v.description}. Arguments are string literals; absent key values make the shipment not match.`,
        example: v.example,
      })),
      { signature: 'has(shipment.<field>) -> bool', description: 'Whether the shipment has a value for the field (an absent field makes a comparison not match)', example: 'has(shipment.declared_value_usd) && shipment.declared_value_usd > 1000.0' },
      { signature: '<value> in <list> -> bool', description: 'Membership in a list literal or one of the organisation\'s lists', example: "shipment.destination_country in ['NG', 'KP'] || shipment.sender_id in lists.blocked_senders" },
      { signature: 'string.contains(string) -> bool', description: 'Substring test (also startsWith, endsWith); regular expressions are not available', example: "shipment.description.contains('gift card')" },
      { signature: 'list.exists(x, condition) -> bool', description: 'Whether some element satisfies the condition (also all, exists_one, filter, map)', example: "lists.watched_words.exists(w, shipment.description.contains(w))" },
      { signature: 'size(value) -> int', description: 'Length of a string, list or map', example: 'size(shipment.recipient_address) < 10' },
      { signature: "timestamp(string) -> timestamp, duration(string) -> duration", description: 'Time values; a timestamp minus a timestamp is a duration', example: "shipment.created_at - shipment.sender_created_at < duration('24h')" },
    ],
    lists: [...lists.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, items]) => ({ name: `lists.${name}`, items })),
  };
}

// --- compiling for the engine ------------------------------------------------------------------

/** What one evaluation gave. `absent`: a value the expression reads is missing (does not match). */
export type Outcome = { kind: 'match'; values: Record<string, unknown> } | { readonly kind: 'no' } | { readonly kind: 'absent' } | { kind: 'error'; message: string };

// Shared, frozen: most of a batch's million evaluations answer one of these (no allocation each).
const NO: Outcome = Object.freeze({ kind: 'no' });
const ABSENT: Outcome = Object.freeze({ kind: 'absent' });

export interface Compiled {
  aggregates: AggregateUse[];
  /** The shipment fields the expression reads (null: it may read any, e.g. through a macro variable). */
  fields: readonly string[] | null;
  /** Evaluates the criterion on one shipment with its aggregates (by aggregateKey). Never throws. */
  evaluate(shipment: CelShipmentValue, velocity: CelVelocity): Outcome;
}

/** A shipment prepared once for every criterion of its organisation. */
export type CelShipmentValue = CelShipment;

/**
 * The field definitions of these field names (all of them for null: an expression that may read
 * any field), for `celShipment`: a batch converts only what its criteria read (bench: 100,000
 * shipments × 28 fields was 0.5 s of the evaluation, most of the fields never read).
 */
export function celFields(names: Iterable<string> | null): readonly ShipmentCelField[] {
  if (names === null) return SHIPMENT_CEL_FIELDS;
  const wanted = new Set(names);
  return SHIPMENT_CEL_FIELDS.filter((f) => wanted.has(f.name));
}

/**
 * Builds the `shipment` value: nulls left out (absent), integers as BigInt, timestamps as Date.
 * `fields`: only these are set (`celFields` of what the criteria read); every field by default.
 */
export function celShipment(row: ShipmentRecord, fields: readonly ShipmentCelField[] = SHIPMENT_CEL_FIELDS): CelShipmentValue {
  const s = new CelShipment();
  for (const f of fields) {
    const v = row[f.name];
    if (v === null || v === undefined) continue;
    if (f.type === 'int') s[f.name] = BigInt(Math.trunc(Number(v)));
    else if (f.type === 'double') s[f.name] = Number(v);
    else if (f.type === 'timestamp') s[f.name] = v instanceof Date ? v : new Date(String(v));
    else s[f.name] = v;
  }
  return s;
}

/** JSON-safe copy of a value read by an expression (BigInt → number, Date → ISO string). */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  return v;
}

const isAbsent = (e: unknown): boolean =>
  e instanceof AbsentValue ||
  (e instanceof Error && e.cause instanceof AbsentValue) ||
  (typeof e === 'object' && e !== null && 'code' in e && (e.code === 'no_such_key' || e.code === 'no_such_field'));

/** Compiles a checked expression for the engine; throws (with the checker's first message) when it does not check. */
export function compileCriterion(expression: string, lists: ReadonlyMap<string, readonly string[]>): Compiled {
  const env = envFor(lists.keys());
  const { check, fields, allFields, parsed } = checkWith(expression, env);
  if (!check.ok || !parsed) throw new Error(check.errors[0]?.message ?? 'the expression does not check');
  const fn = parsed;
  const celLists = new CelLists();
  for (const [name, items] of lists) celLists[name] = items;
  const aggregates = check.aggregates;
  // Closures for the common subset (cel-fast.ts: ~10× faster per evaluation); cel-js for the rest.
  const fast = compileFast(fn.ast, { fieldTypes: FIELD_TYPES, lists, velocity: fastVelocity });
  return {
    aggregates,
    fields: allFields ? null : fields.filter((f) => FIELD_TYPES.has(f)),
    evaluate(shipment, velocity) {
      let result: unknown;
      if (fast) {
        result = fast(shipment, velocity);
        if (result instanceof Fail) return result.absent ? ABSENT : { kind: 'error', message: result.message };
      } else {
        try {
          result = fn({ shipment, velocity, lists: celLists });
        } catch (e) {
          if (isAbsent(e)) return ABSENT;
          return { kind: 'error', message: summaryOf(e) };
        }
      }
      if (result !== true) return NO;
      const values: Record<string, unknown> = {};
      for (const f of fields) if (FIELD_TYPES.has(f) && f !== 'attributes') values[`shipment.${f}`] = plain(shipment[f] ?? null);
      if (fields.includes('attributes')) values['shipment.attributes'] = shipment['attributes'] ?? null;
      for (const a of aggregates) {
        const label = a.kind === 'count' ? `velocity.count('${a.key}', '${a.window}')` : a.kind === 'first' ? `velocity.first('${a.key}', '${a.field}')` : `velocity.${a.kind}('${a.key}', '${a.field}', '${a.window}')`;
        values[label] = velocity.values.get(aggregateKey(a)) ?? null;
      }
      return { kind: 'match', values };
    },
  };
}

export type { AggregateUse };
