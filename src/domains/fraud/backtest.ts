/**
 * STUB (fraud-api branch) until the fraud-engine helper's backtest.ts lands: same signature.
 */
import type { z } from 'zod';
import type { backtestRequest, BacktestResult } from '../../contracts/fraud.js';
import type { Db } from '../../platform/store/index.js';

export function runBacktest(db: Db, orgId: string, request: z.output<typeof backtestRequest>, now: Date): Promise<BacktestResult> {
  void db;
  void orgId;
  void request;
  void now;
  throw new Error('runBacktest: not built yet');
}
