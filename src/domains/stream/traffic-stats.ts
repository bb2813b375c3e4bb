/**
 * Summary statistics of HTTP traffic over one interval of the console monitor: hits per section,
 * status classes, bytes, distinct hosts. Serialisable, so a monitor's state can be checkpointed.
 * (The server's statistics are additive rows and sketches: traffic-aggregate.ts.)
 */
import { STATUS_CLASSES, type StatusClass } from '../../contracts/logs.js';

/** What the stream engine needs from an access-log event (a parsed line or an ingested event). */
export interface TrafficEvent {
  /** Event time, unix seconds (fractions allowed). */
  time: number;
  section: string;
  status: number;
  bytes: number;
  /** Remote host (client address). */
  host: string;
}

/** One list of status classes for the whole app (the contract's). */
export { STATUS_CLASSES, type StatusClass };

export interface SectionHits {
  section: string;
  hits: number;
}

export interface TrafficSummary {
  requests: number;
  /** The sections with the most hits, most first (ties by name), at most `top` of them. */
  sections: SectionHits[];
  status: Record<StatusClass, number>;
  /** Share of requests answered 5xx (server errors); 0 when there were no requests. */
  errorRate: number;
  bytes: number;
  /** Distinct remote hosts. */
  hosts: number;
  /** Events that arrived after the interval's bucket was final (within the allowed lateness). */
  late: number;
}

export interface TrafficAggregateState {
  requests: number;
  status: number[];
  bytes: number;
  hosts: string[];
  sections: [string, number][];
  late: number;
}

/**
 * A string that does not point into a bigger one. Parsers hand out substrings of the line, which V8
 * may keep as slices of the whole read chunk (1 MiB); a key kept for minutes would keep its chunk
 * alive with it, and memory would grow with the input rate instead of staying flat.
 */
function ownCopy(s: string): string {
  return (' ' + s).slice(1);
}

export class TrafficAggregate {
  requests = 0;
  /** Indexed by `status / 100 - 1`: 1xx … 5xx. Statuses outside 100–599 count only in `requests`. */
  readonly status = [0, 0, 0, 0, 0];
  bytes = 0;
  late = 0;
  readonly hosts = new Set<string>();
  readonly sections = new Map<string, number>();

  add(event: TrafficEvent): void {
    this.requests++;
    const cls = ((event.status / 100) | 0) - 1;
    if (cls >= 0 && cls < 5) this.status[cls]!++;
    this.bytes += event.bytes;
    if (!this.hosts.has(event.host)) this.hosts.add(ownCopy(event.host));
    const n = this.sections.get(event.section);
    this.sections.set(n === undefined ? ownCopy(event.section) : event.section, (n ?? 0) + 1);
  }

  summary(top: number): TrafficSummary {
    const sections = [...this.sections]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, top)
      .map(([section, hits]) => ({ section, hits }));
    const status = Object.fromEntries(STATUS_CLASSES.map((c, i) => [c, this.status[i]!])) as Record<StatusClass, number>;
    return {
      requests: this.requests,
      sections,
      status,
      errorRate: this.requests === 0 ? 0 : this.status[4]! / this.requests,
      bytes: this.bytes,
      hosts: this.hosts.size,
      late: this.late,
    };
  }

  snapshot(): TrafficAggregateState {
    return { requests: this.requests, status: [...this.status], bytes: this.bytes, hosts: [...this.hosts], sections: [...this.sections], late: this.late };
  }

  static restore(state: TrafficAggregateState): TrafficAggregate {
    const a = new TrafficAggregate();
    a.requests = state.requests;
    for (let i = 0; i < 5; i++) a.status[i] = state.status[i] ?? 0;
    a.bytes = state.bytes;
    a.late = state.late;
    for (const h of state.hosts) a.hosts.add(h);
    for (const [s, n] of state.sections) a.sections.set(s, n);
    return a;
  }
}
