/**
 * The criteria language: CEL over `shipment`, `lists` and `velocity` (see contracts/fraud.ts).
 *
 * INTERFACE laid down first so the HTTP/verbs work and the engine work can proceed in parallel;
 * the engine owns this file and replaces the bodies. Callers rely only on these signatures.
 */
import type { AggregateUse, ExpressionCheck, FraudSchema } from '../../contracts/fraud.js';

/** The organisation's lists as the checker needs them: name → number of items. */
export type ListSizes = ReadonlyMap<string, number>;

/** Type-checks an expression for an organisation with these lists: problems with line/column, its type, the aggregates it uses. */
export function checkExpression(expression: string, lists: ListSizes): ExpressionCheck {
  void expression;
  void lists;
  throw new Error('checkExpression: not built yet');
}

/** What the editor offers: fields, functions (with examples) and the organisation's lists. */
export function fraudSchemaFor(lists: ListSizes): FraudSchema {
  void lists;
  throw new Error('fraudSchemaFor: not built yet');
}

export type { AggregateUse };
