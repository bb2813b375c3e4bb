import { EventEmitter } from 'node:events';

/**
 * Live updates for dashboards (served as Server-Sent Events). Domains publish after their
 * transaction commits; subscribers get events of their own organisation only.
 */
export interface LiveEvent {
  type: string;
  data: unknown;
}

export class LiveHub {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(orgId: string, event: LiveEvent): void {
    this.emitter.emit(orgId, event);
  }

  /** Lets publishers skip building an event nobody is listening to (keeps hot paths cheap). */
  hasSubscribers(orgId: string): boolean {
    return this.emitter.listenerCount(orgId) > 0;
  }

  subscribe(orgId: string, listener: (event: LiveEvent) => void): () => void {
    this.emitter.on(orgId, listener);
    return () => this.emitter.off(orgId, listener);
  }
}
