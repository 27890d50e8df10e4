import type { ChaosKnobs } from './knobs';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/**
 * EventBridge as the simulation models it: latency, jitter, late events, duplicates and losses on
 * the way to the trigger queue (tools/sim/groups.ts holds the queues).
 */

export interface QueueMessage {
  messageId: string;
  body: string;
  seq: number;
  sentAt: number;
  receiveCount: number;
  /** When the message can be received again (after a receive: the end of its visibility timeout). */
  visibleAt: number;
  firstReceivedAt?: number;
}

export class EventBus {
  readonly counts = { put: 0, delivered: 0, lost: 0, duplicated: 0, delayed: 0 };
  /** Events on their way to the queue. */
  pending = 0;
  /** When events were lost or held back, and the ECS group (`service:<name>`) they were about. */
  readonly mishaps: { at: number; kind: 'lost' | 'late'; group: string | undefined }[] = [];

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly knobs: ChaosKnobs['eventBridge'],
    private readonly target: (body: string) => void,
  ) {}

  /**
   * Puts an event on the bus (as its rule's target delivers it: the event, or what the target's
   * input transformer makes of it). `reliable` events (the schedules) are never lost or duplicated.
   */
  put(event: object, reliable = false): void {
    this.counts.put++;
    if (!reliable && this.rng.chance(this.knobs.lossRate)) {
      this.counts.lost++;
      this.mishaps.push({ at: this.sched.now(), kind: 'lost', group: groupOf(event) });
      return;
    }
    this.deliver(JSON.stringify(event), 0, groupOf(event));
    if (!reliable && this.rng.chance(this.knobs.duplicateRate)) {
      this.counts.duplicated++;
      const identical = this.rng.chance(this.knobs.identicalDuplicateShare);
      const id = (event as { id?: unknown }).id;
      const copy = identical
        ? event
        : { ...event, id: `${String(id ?? '').slice(0, 24)}${this.rng.hex(12)}` };
      this.deliver(JSON.stringify(copy), this.rng.ms([0, 20_000]));
    }
  }

  private deliver(body: string, extraMs = 0, group?: string): void {
    let delay = this.rng.ms(this.knobs.latencyMs) + extraMs;
    if (this.knobs.reorderJitterMs > 0) delay += this.rng.ms([0, this.knobs.reorderJitterMs]);
    if (this.rng.chance(this.knobs.delayRate)) {
      this.counts.delayed++;
      delay += this.rng.ms([0, this.knobs.delayMaxMs]);
      this.mishaps.push({ at: this.sched.now(), kind: 'late', group });
    }
    this.pending++;
    this.sched.after(delay, () => {
      this.pending--;
      this.counts.delivered++;
      this.target(body);
    });
  }
}

/** What an invocation did, for the measures. */
export interface InvocationReport {
  id: number;
  startedAt: number;
  endedAt: number;
  messages: QueueMessage[];
  failed: Set<string>;
  timedOut: boolean;
}

function groupOf(event: object): string | undefined {
  return (event as { detail?: { group?: string } }).detail?.group;
}
