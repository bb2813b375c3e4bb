import { EventEmitter } from 'node:events';

/**
 * Live updates for dashboards (served as Server-Sent Events). Domains publish after their
 * transaction commits; subscribers get events of their own organisation only.
 *
 * With several instances, a change is also *announced* (topic + id, no payload) through a relay
 * (PostgreSQL NOTIFY, see live-bridge.ts); an instance that has subscribers for that organisation
 * resolves the id into a full event itself. Announcements stay small and cost nothing where
 * nobody is watching.
 */
export interface LiveEvent {
  type: string;
  data: unknown;
}

export interface LiveChange {
  topic: string;
  id: string;
}

type Resolver = (orgId: string, id: string) => Promise<void>;

/** Announcement topic of a revoked credential (its id names the credential, see revokeCredential). */
const REVOKED_TOPIC = 'credential.revoked';

export class LiveHub {
  private readonly emitter = new EventEmitter();
  private readonly revocations = new EventEmitter();
  private readonly resolvers = new Map<string, Resolver>();
  private relay: ((orgId: string, change: LiveChange) => void) | undefined;

  constructor() {
    this.emitter.setMaxListeners(0);
    this.revocations.setMaxListeners(0);
  }

  /** Delivers an event to this instance's subscribers. */
  publish(orgId: string, event: LiveEvent): void {
    this.emitter.emit(orgId, event);
  }

  /** Tells the other instances that something changed (no-op when running alone). */
  announce(orgId: string, change: LiveChange): void {
    this.relay?.(orgId, change);
  }

  /** How a topic's announcements from other instances become local events. */
  onRemoteChange(topic: string, resolver: Resolver): void {
    this.resolvers.set(topic, resolver);
  }

  /**
   * A credential (API key or session) of `orgId` is no longer valid: live streams opened with it
   * end, on this instance at once and on the others through the relay.
   */
  revokeCredential(orgId: string, credential: string): void {
    this.revocations.emit('revoked', credential);
    this.relay?.(orgId, { topic: REVOKED_TOPIC, id: credential });
  }

  onCredentialRevoked(listener: (credential: string) => void): () => void {
    this.revocations.on('revoked', listener);
    return () => this.revocations.off('revoked', listener);
  }

  /** An announcement from another instance (called by the relay). */
  async receive(orgId: string, change: LiveChange): Promise<void> {
    if (change.topic === REVOKED_TOPIC) {
      this.revocations.emit('revoked', change.id);
      return;
    }
    if (!this.hasSubscribers(orgId)) return;
    await this.resolvers.get(change.topic)?.(orgId, change.id);
  }

  setRelay(relay: ((orgId: string, change: LiveChange) => void) | undefined): void {
    this.relay = relay;
  }

  /** Lets publishers skip building an event nobody here is listening to (keeps hot paths cheap). */
  hasSubscribers(orgId: string): boolean {
    return this.emitter.listenerCount(orgId) > 0;
  }

  subscribe(orgId: string, listener: (event: LiveEvent) => void): () => void {
    this.emitter.on(orgId, listener);
    return () => this.emitter.off(orgId, listener);
  }
}
