/**
 * The data of a range of event-time seconds as the rule engine takes it: the 1-second counts, and
 * the raw events when a rule needs them, split per second. Shared by live evaluation and preview,
 * so both feed the engine exactly the same thing.
 */
import type { Db } from '../../platform/store/index.js';
import { eventsOfSeconds } from '../logs/index.js';
import { secondCounts } from '../stream/index.js';
import type { SecondData } from './engine.js';

/** Reads the data of seconds (after, through] for these engines: counts always, raw events when one needs them. */
export async function readSeconds(db: Db, orgId: string, after: number, through: number, raw: boolean): Promise<SecondData[]> {
  const [counts, events] = await Promise.all([secondCounts(db, orgId, after, through), raw ? eventsOfSeconds(db, orgId, after, through) : Promise.resolve(undefined)]);
  const out: SecondData[] = [];
  let ci = 0;
  let ei = 0;
  for (let s = after + 1; s <= through; s++) {
    const c0 = ci;
    while (ci < counts.length && counts[ci]!.second === s) ci++;
    const data: SecondData = { second: s, counts: counts.slice(c0, ci) };
    if (events !== undefined) {
      const e0 = ei;
      while (ei < events.length && events[ei]!.second === s) ei++;
      data.events = events.slice(e0, ei);
    }
    out.push(data);
  }
  return out;
}
