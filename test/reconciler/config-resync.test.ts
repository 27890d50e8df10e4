/**
 * `resyncMinutes` where it is read at run time: the fan-out spreads a scheduled resync's shards
 * within the period the schedule rule runs at (the construct sets the rule's rate from the same
 * field: test/infra/every-field.test.ts), so a longer period lets a resync spread wider.
 */
import { createFanout } from '../../functions/fanout/wiring';
import { parseConfig } from '../../functions/lib/config/config';
import { readTriggerMessage } from '../../functions/lib/delivery/messages';
import { scheduledEvent } from '../../functions/lib/inmemory/events';
import { World } from '../../functions/lib/inmemory/world';
import { CLUSTER_ARN, NAMESPACE, SERVICES } from './helpers';

/** The delays of the shards one scheduled resync is turned into. */
async function shardDelays(resyncMinutes: number | undefined): Promise<number[]> {
  const config = parseConfig({
    registry: { url: 'http://127.0.0.1:7860', auth: { type: 'static', tokenEnv: 'REGISTRY_TOKEN' } },
    targets: Array.from({ length: 10 }, (_, i) => ({
      kind: 'agent',
      path: `/agent-${i}`,
      cloudMapService: `agent-${i}`,
    })),
    ...(resyncMinutes === undefined ? {} : { resyncMinutes }),
  });
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SERVICES });
  const sent: { type: string; delaySeconds: number }[] = [];
  const unused = () => Promise.reject(new Error('a scheduled resync reads nothing before its shards run'));
  const fanout = createFanout({
    config,
    cloudMap: world,
    ecs: world,
    pages: { listPage: unused },
    verifier: { verifyWrite: unused },
    queues: {
      sendWork: unused,
      sendTriggers: async (messages) => {
        for (const m of messages)
          sent.push({ type: readTriggerMessage(m.body).type, delaySeconds: m.delaySeconds });
      },
    },
    // Two entries a page and a low allowance, so the ten entries' look-ups need 400 s to stay
    // within it: wider than a 5-minute resync leaves (its last minute is kept free).
    pageSize: 2,
    rates: { discoverInstancesPerSecond: 0.1, describeTasksPerSecond: 20 },
    rateShare: 0.25,
  });
  await fanout.event(JSON.stringify(scheduledEvent('resync-1')));
  expect(sent.every((m) => m.type === 'shard')).toBe(true);
  return sent.map((m) => m.delaySeconds);
}

describe('resyncMinutes in the fan-out', () => {
  it('spreads a resync within the default 5 minutes, keeping the last one free', async () => {
    expect(await shardDelays(undefined)).toEqual([0, 60, 120, 180, 240]);
  });

  it('spreads it as far as the look-ups need when the configured period allows', async () => {
    expect(await shardDelays(10)).toEqual([0, 100, 200, 300, 400]);
  });

  it('sends every shard at once when the period is a minute', async () => {
    expect(await shardDelays(1)).toEqual([0, 0, 0, 0, 0]);
  });
});
