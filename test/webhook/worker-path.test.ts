/**
 * The receiver's work reaches the reconciler as it is: a signed `registration` of a configured
 * server, registered by its Cloud Map name, becomes a work message that the deployed queue path
 * (createWorkerHandler over the in-memory world and registry) takes as any resync work, pointing the
 * entry at its live task and scheduling the write's verification. No change to the worker.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { parseConfig } from '../../functions/lib/config/config';
import { readTriggerMessage } from '../../functions/lib/delivery/messages';
import type { TriggerOut, WorkMessage } from '../../functions/lib/delivery/queues';
import { Follower } from '../../functions/lib/follow/follower';
import { MemoryOwnership } from '../../functions/lib/follow/ownership';
import { worldFollowSource } from '../../functions/lib/inmemory/follow';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { createWorkerHandler } from '../../functions/reconciler/wiring';
import { DEFAULT_MAX_SKEW_MS, WebhookReceiver } from '../../functions/webhook/receiver';
import {
  CLUSTER_ARN,
  CLUSTER_NAME,
  NAMESPACE,
  REFS,
  RecordingLogger,
  RecordingMetrics,
  SERVICES,
  TASKS,
  TOKEN_ENV,
  testConfig,
} from '../reconciler/helpers';
import { pythonJsonDumps, registryPayload, registrySignature, serverCard } from './helpers';

const SECRET = 'shared-with-the-registry';

it('a signed registration becomes work that the reconciler takes as it is: the entry is written to its live task', async () => {
  const config = testConfig();
  const world = new World({
    clusterArn: CLUSTER_ARN,
    namespace: NAMESPACE,
    services: SERVICES,
    registrationLagMs: 0,
  });
  world.seedTask(TASKS.ct1.service, TASKS.ct1);
  const registry = new MemoryRegistry(world.clock);
  // Just registered by its Service Connect name, as a team registers a server.
  registry.seed(REFS.currenttime, 'http://currenttime-server:8000/');

  const work: WorkMessage[] = [];
  const triggers: TriggerOut[] = [];
  const receiver = new WebhookReceiver({
    config,
    secret: async () => SECRET,
    queues: {
      sendWork: async (m) => {
        work.push(...m);
      },
      sendTriggers: async (m) => {
        triggers.push(...m);
      },
    },
    logger: new RecordingLogger(),
    now: Date.now,
    maxSkewMs: DEFAULT_MAX_SKEW_MS,
  });
  const body = pythonJsonDumps(
    registryPayload(
      'registration',
      'server',
      serverCard('/currenttime/', 'http://currenttime-server:8000/'),
      Date.now(),
    ),
  );
  const response = await receiver.handle({
    method: 'POST',
    headers: { 'x-registry-signature': registrySignature(body, SECRET) },
    body,
    isBase64Encoded: false,
  });
  expect(response.statusCode).toBe(202);
  expect(work).toHaveLength(1);

  const records: DecisionRecord[] = [];
  const verifications: { body: string; delaySeconds: number }[] = [];
  const { handler } = createWorkerHandler({
    config,
    cloudMap: world,
    ecs: world,
    registry,
    logger: new RecordingLogger(),
    metrics: new RecordingMetrics(),
    sleep: world.clock.sleep,
    now: world.clock.now,
    onRecord: (r) => records.push(r),
    queue: {
      changeVisibility: async () => undefined,
      sendTrigger: async (b, delaySeconds) => {
        verifications.push({ body: b, delaySeconds });
      },
    },
  });
  // What SQS hands the reconciler for that message.
  const [message] = work as [WorkMessage];
  const out = (await handler(
    {
      Records: [
        {
          messageId: 'm1',
          receiptHandle: 'rh-m1',
          body: message.body,
          attributes: { ApproximateReceiveCount: '1', MessageGroupId: message.groupId },
        },
      ],
    },
    { getRemainingTimeInMillis: () => 60_000 },
  )) as SQSBatchResponse;

  expect(out.batchItemFailures).toEqual([]);
  expect(records.map((r) => [r.target.path, r.action, r.trigger.eventId])).toEqual([
    ['/currenttime/', 'update', JSON.parse(message.body).id],
  ]);
  expect((await registry.readEntry(REFS.currenttime, NO_COUNT)).url).toBe(`http://${TASKS.ct1.ipv4}:8000/`);
  expect(verifications.map((v) => readTriggerMessage(v.body).type)).toEqual(['verify']);
});

describe('follow mode: the webhook hands the entry to the reconciler, whose follow rule and ownership gate decide', () => {
  const WEATHER = { ecsService: 'mcp-gateway-weather', cloudMapService: 'weather-server', port: 8000 };
  const W1 = {
    taskId: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1',
    ipv4: '10.0.5.61',
    startedAt: '2026-01-01T00:00:00.000Z',
  };
  const config = parseConfig({
    cluster: CLUSTER_NAME,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
    registry: { url: 'http://127.0.0.1:7860', auth: { type: 'static', tokenEnv: TOKEN_ENV } },
    targets: [],
    follow: { enabled: true },
    ownership: { table: 'owners' },
  });

  function setup() {
    const services = [...SERVICES, WEATHER];
    const world = new World({
      clusterArn: CLUSTER_ARN,
      namespace: NAMESPACE,
      services,
      registrationLagMs: 0,
    });
    world.seedTask(WEATHER.ecsService, W1);
    const registry = new MemoryRegistry(world.clock);
    registry.seed({ kind: 'server', path: '/weather/' }, 'http://weather-server:8000/');
    registry.seed({ kind: 'server', path: '/handset/' }, 'http://10.9.9.9:8000/');
    const ownership = new MemoryOwnership('owners');
    const follower = new Follower({
      config,
      ownership,
      world: worldFollowSource(NAMESPACE, services),
      now: world.clock.now,
      ttlMs: 30_000,
    });
    const records: DecisionRecord[] = [];
    const { handler } = createWorkerHandler({
      config,
      cloudMap: world,
      ecs: world,
      registry,
      now: world.clock.now,
      sleep: world.clock.sleep,
      follow: { ownership, follower },
      onRecord: (r) => records.push(r),
      queue: { changeVisibility: async () => undefined, sendTrigger: async () => undefined },
    });
    const work: WorkMessage[] = [];
    const receiver = new WebhookReceiver({
      config,
      secret: async () => SECRET,
      queues: {
        sendWork: async (m) => {
          work.push(...m);
        },
        sendTriggers: async () => undefined,
      },
      logger: new RecordingLogger(),
      now: Date.now,
      maxSkewMs: DEFAULT_MAX_SKEW_MS,
    });
    /** The registry's signed delivery, then the reconciler's run of the work it produced. */
    const deliver = async (event: string, path: string, url: string) => {
      const body = pythonJsonDumps(registryPayload(event, 'server', serverCard(path, url), Date.now()));
      const response = await receiver.handle({
        method: 'POST',
        headers: { 'x-registry-signature': registrySignature(body, SECRET) },
        body,
        isBase64Encoded: false,
      });
      expect(JSON.parse(response.body)).toMatchObject({ enqueued: 'work', keptAs: 'follow' });
      const message = work.pop() as WorkMessage;
      await handler(
        {
          Records: [
            {
              messageId: 'm',
              receiptHandle: 'rh',
              body: message.body,
              attributes: { ApproximateReceiveCount: '1', MessageGroupId: message.groupId },
            },
          ],
        },
        { getRemainingTimeInMillis: () => 60_000 },
      );
    };
    return { registry, ownership, records, deliver };
  }

  it('an entry registered by its Cloud Map name is adopted and written to its live task, its row recorded', async () => {
    const f = setup();
    await f.deliver('registration', '/weather/', 'http://weather-server:8000/');
    expect(f.records.map((r) => [r.target.path, r.action])).toEqual([['/weather/', 'update']]);
    expect((await f.registry.readEntry({ kind: 'server', path: '/weather/' }, NO_COUNT)).url).toBe(
      `http://${W1.ipv4}:8000/`,
    );
    expect(await f.ownership.get({ kind: 'server', path: '/weather/' })).toMatchObject({
      writtenUrl: `http://${W1.ipv4}:8000/`,
    });
  });

  it('an entry holding a hand-set IP is sent too, and the reconciler leaves it alone (not adopted, no row)', async () => {
    const f = setup();
    await f.deliver('update', '/handset/', 'http://10.9.9.9:8000/');
    // The worker's follow rule does not adopt it (a hand-set IPv4 names no Cloud Map service, and no
    // row gives it to us): nothing to do, no decision, no write.
    expect(f.records).toEqual([]);
    expect((await f.registry.readEntry({ kind: 'server', path: '/handset/' }, NO_COUNT)).url).toBe(
      'http://10.9.9.9:8000/',
    );
    expect(await f.ownership.get({ kind: 'server', path: '/handset/' })).toBeUndefined();
  });
});
