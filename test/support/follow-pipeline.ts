/**
 * The deployed path of follow mode in memory, for the fan-out's follow tests: the fan-out and the
 * worker as their wiring builds them, over one in-memory world and registry, with the messages
 * the fan-out sends kept in arrays instead of queues. `drain` hands each work message sent so far
 * to the worker, one delivery each, as the FIFO work queue would.
 */
import { createFanoutHandler } from '../../functions/fanout/wiring';
import type { ReconcilerConfig } from '../../functions/lib/config/config';
import type { TriggerOut, WorkMessage } from '../../functions/lib/delivery/queues';
import type { Follower } from '../../functions/lib/follow/follower';
import type { OwnershipPort } from '../../functions/lib/follow/ownership';
import { memoryPages } from '../../functions/lib/inmemory/follow';
import type { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import { createWorkerHandler } from '../../functions/reconciler/wiring';

export interface FollowPipelineOptions {
  config: ReconcilerConfig;
  world: World;
  registry: MemoryRegistry;
  follower: Follower;
  /** The table the worker reads and writes. */
  ownership: OwnershipPort;
  /** The table the fan-out reads (a counting view of `ownership`, say); `ownership` by default. */
  fanoutOwnership?: OwnershipPort;
  /** Entries per registry page. */
  pageSize: number;
}

export function followPipeline(o: FollowPipelineOptions) {
  const work: WorkMessage[] = [];
  const triggers: TriggerOut[] = [];
  const failures: string[] = [];
  const { world } = o;
  const { handler: fanout } = createFanoutHandler({
    config: o.config,
    cloudMap: world,
    ecs: world,
    now: world.clock.now,
    isoNow: () => new Date(world.clock.now()).toISOString(),
    sleep: world.clock.sleep,
    ecsBatchWindowMs: 0,
    pageSize: o.pageSize,
    pages: memoryPages(o.registry),
    verifier: { verifyWrite: async () => Promise.reject(new Error('not used')) },
    queues: {
      sendWork: async (m) => void work.push(...m),
      sendTriggers: async (m) => void triggers.push(...m),
    },
    follow: { ownership: o.fanoutOwnership ?? o.ownership, follower: o.follower },
    onFailure: (_, reason) => failures.push(reason),
  });
  const { handler: worker } = createWorkerHandler({
    config: o.config,
    cloudMap: world,
    ecs: world,
    registry: o.registry,
    now: world.clock.now,
    sleep: world.clock.sleep,
    follow: { ownership: o.ownership, follower: o.follower },
    queue: { changeVisibility: async () => undefined, sendTrigger: async () => undefined },
  });
  /** One SQS batch of one message. */
  const sqs = (body: string, id = 'm') => ({ Records: [{ messageId: id, body }] });
  /** The worker, for each work message sent so far. */
  const drain = async () => {
    for (const [i, m] of work.splice(0).entries())
      await worker({
        Records: [
          {
            messageId: `w-${i}`,
            body: m.body,
            attributes: { ApproximateReceiveCount: '1', MessageGroupId: m.groupId },
            eventSource: 'aws:sqs',
          },
        ],
      });
  };
  return { fanout, worker, work, triggers, failures, sqs, drain };
}
