import fc from 'fast-check';
import { parseConfig } from '../../functions/lib/config/config';
import { decide } from '../../functions/lib/core/decide';
import type { CloudMapInstance, TaskState } from '../../functions/lib/core/types';
import { hostOf } from '../../functions/lib/core/url';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import { MemoryRegistry, VirtualClock, World } from '../../functions/lib/inmemory/world';
import { toTaskEvent } from '../../tools/sim/cluster';
import { createDeployedPath } from '../../tools/sim/pipeline';
import { Rng } from '../../tools/sim/rng';
import { Scheduler } from '../../tools/sim/scheduler';

/**
 * Property-based tests over random event orders and duplicates: whatever order, duplication and
 * batching ECS and EventBridge deliver a service's history in, the deployed path (fan-out →
 * per-entry FIFO group → worker, over in-memory queues) never writes an
 * address that is not live, and once everything is delivered plus one resync the entry names a
 * live task (and a further resync writes nothing).
 */

const CLUSTER_ARN = 'arn:aws:ecs:us-west-2:111122223333:cluster/sim';
const SERVICE = 'mcp-gateway-svc';
const CM = 'svc-server';
const REF = { kind: 'server' as const, path: '/svc/' };

type Op = 'launch' | 'stop' | 'crash';

interface SimTaskLite {
  taskId: string;
  ip: string;
  version: number;
  live: boolean;
  startedAt: string;
}

/** A service's true history: ops in order, each a run of real-shaped events. */
function history(initial: number, ops: Op[], clock: VirtualClock) {
  const tasks: SimTaskLite[] = [];
  const seeds: SimTaskLite[] = [];
  let n = 0;
  const newTask = (): SimTaskLite => {
    n++;
    return {
      taskId: n.toString(16).padStart(32, 'a'),
      ip: `10.9.${n >> 8}.${n & 255}`,
      version: 0,
      live: false,
      startedAt: '',
    };
  };
  for (let i = 0; i < initial; i++) {
    const t = newTask();
    t.version = 3;
    t.live = true;
    t.startedAt = new Date(clock.now() - (initial - i) * 60_000).toISOString();
    tasks.push(t);
    seeds.push(t);
  }
  const events: unknown[] = [];
  const emit = (t: SimTaskLite, lastStatus: string, desiredStatus: string, bump = 1) => {
    t.version += bump;
    clock.advance(1_000);
    events.push(
      taskEvent({
        clusterArn: CLUSTER_ARN,
        taskId: t.taskId,
        service: SERVICE,
        lastStatus,
        desiredStatus,
        version: t.version,
        ipv4: t.ip,
        time: clock.iso(),
        ...(t.startedAt === '' ? {} : { startedAt: t.startedAt }),
      }),
    );
  };
  for (const op of ops) {
    const live = tasks.filter((t) => t.live);
    if (op === 'launch' || live.length === 0) {
      const t = newTask();
      tasks.push(t);
      emit(t, 'PROVISIONING', 'RUNNING');
      emit(t, 'PENDING', 'RUNNING');
      emit(t, 'ACTIVATING', 'RUNNING', 2);
      t.startedAt = new Date(clock.now() + 1_000).toISOString();
      emit(t, 'RUNNING', 'RUNNING');
      t.live = true;
    } else {
      const t = live[0] as SimTaskLite;
      t.live = false;
      if (op === 'stop') {
        emit(t, 'RUNNING', 'STOPPED');
        emit(t, 'DEACTIVATING', 'STOPPED');
        emit(t, 'STOPPING', 'STOPPED', 3);
      } else {
        emit(t, 'STOPPING', 'STOPPED');
      }
      emit(t, 'STOPPED', 'STOPPED');
    }
  }
  return { seeds, events, tasks };
}

function harness(clock: VirtualClock) {
  const sched = new Scheduler(clock);
  const world = new World({
    clusterArn: CLUSTER_ARN,
    namespace: 'sim.local',
    clock,
    services: [{ ecsService: SERVICE, cloudMapService: CM, port: 8000 }],
  });
  const registry = new MemoryRegistry(clock);
  const config = parseConfig({
    cluster: CLUSTER_ARN,
    namespace: 'sim.local',
    registry: { url: 'http://registry.local', auth: { type: 'static', tokenEnv: 'T' } },
    targets: [{ kind: 'server', path: REF.path, cloudMapService: CM, ecsService: SERVICE }],
  });
  const path = createDeployedPath({
    config,
    cloudMap: world,
    ecs: world,
    registry,
    sched,
    rng: new Rng(1, 'property-path'),
    records: [],
  });
  /** EventBridge delivers the events in this order; then every queue runs dry. */
  const send = async (bodies: unknown[]) => {
    for (const b of bodies) path.put(b);
    expect(await path.drain()).toBe(true);
  };
  return { world, registry, send };
}

function liveListed(world: World): Set<string> {
  const listed = new Set(world.listed(CM));
  return new Set(
    world
      .liveTasks(SERVICE)
      .filter((t) => listed.has(t.taskId))
      .map((t) => t.ipv4 ?? ''),
  );
}

describe('Property: any order, duplication and batching of a service history', () => {
  it('never writes a non-live address and converges to a live task', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.constantFrom<Op>('launch', 'stop', 'crash'), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (initial, ops, seed) => {
          const clock = new VirtualClock();
          const { seeds, events } = history(initial, ops, clock);
          const h = harness(new VirtualClock(Date.parse('2026-01-01T00:00:00Z')));
          for (const t of seeds)
            h.world.seedTask(SERVICE, { taskId: t.taskId, ipv4: t.ip, startedAt: t.startedAt });
          h.registry.seed(REF, `http://${(seeds.at(-1) as SimTaskLite).ip}:8000/`);
          const rng = new Rng(seed, 'deliveries');
          const pending: unknown[] = [];
          const deliver = async (batch: unknown[]) => {
            const before = h.registry.writes.length;
            const ok = liveListed(h.world);
            await h.send(batch);
            for (const w of h.registry.writes.slice(before)) expect(ok.has(hostOf(w.to) ?? '')).toBe(true);
          };
          // The truth advances one event at a time; deliveries lag, reorder and repeat.
          for (const event of events) {
            h.world.applyEvent(toTaskEvent(event));
            pending.push(event);
            if (rng.chance(0.3)) pending.push(event); // a duplicate
            if (rng.chance(0.5)) {
              const shuffled = rng.shuffle(pending);
              const take = rng.int(1, Math.min(10, shuffled.length));
              await deliver(shuffled.slice(0, take));
              pending.splice(0, pending.length, ...shuffled.slice(take));
            }
          }
          const rest = rng.shuffle(pending);
          for (let i = 0; i < rest.length; i += 10) await deliver(rest.slice(i, i + 10));
          await deliver([scheduledEvent('resync-1')]);

          const live = liveListed(h.world);
          const host = hostOf(h.registry.url(REF) ?? '') ?? '';
          if (live.size > 0) expect(live.has(host)).toBe(true);
          else expect(host).not.toBe(''); // kept, never blanked
          const writes = h.registry.writes.length;
          await deliver([scheduledEvent('resync-2')]);
          expect(h.registry.writes.length).toBe(writes);
        },
      ),
      { numRuns: 150, seed: 20260302 },
    );
  });
});

describe('Property: the decision core', () => {
  const instanceArb = fc.record({
    n: fc.integer({ min: 1, max: 12 }),
    status: fc.constantFrom('RUNNING', 'PENDING', 'STOPPING', 'STOPPED', 'DEACTIVATING', 'MISSING'),
    desired: fc.constantFrom('RUNNING', 'STOPPED'),
    health: fc.constantFrom('HEALTHY', 'UNHEALTHY', 'UNKNOWN') as fc.Arbitrary<
      'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN'
    >,
    minute: fc.integer({ min: 0, max: 59 }),
    stopping: fc.boolean(),
  });

  it('ignores the order and duplication of Cloud Map instances, writes only eligible addresses, keeps a live current one', () => {
    fc.assert(
      fc.property(
        fc.array(instanceArb, { minLength: 0, maxLength: 8 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (specs, currentN, seed) => {
          const byN = new Map(specs.map((s) => [s.n, s]));
          const instances: CloudMapInstance[] = [...byN.values()].map((s) => ({
            instanceId: `task${s.n}`,
            ipv4: `10.0.0.${s.n}`,
            health: s.health,
            attributes: {},
          }));
          const tasks = new Map<string, TaskState>();
          for (const s of byN.values()) {
            if (s.status === 'MISSING') continue;
            tasks.set(`task${s.n}`, {
              taskId: `task${s.n}`,
              lastStatus: s.status,
              desiredStatus: s.desired,
              startedAt: `2026-01-01T00:${String(s.minute).padStart(2, '0')}:00Z`,
            });
          }
          const stopping = new Set([...byN.values()].filter((s) => s.stopping).map((s) => `task${s.n}`));
          const input = {
            target: { cloudMapService: CM, port: 'url' as const },
            namespace: 'sim.local',
            currentUrl: currentN === 0 ? `http://${CM}:8000/` : `http://10.0.0.${currentN}:8000/`,
            instances,
            tasks,
            stoppingTaskIds: stopping,
            runningTriggerTaskIds: new Set<string>(),
            canDefer: false,
          };
          const d = decide(input);
          const rng = new Rng(seed, 'perm');
          const permuted = rng.shuffle([...instances, ...instances.filter(() => rng.chance(0.3))]);
          const d2 = decide({ ...input, instances: permuted });
          expect(d2.action).toBe(d.action);
          expect(d2.desiredUrl).toBe(d.desiredUrl);

          const eligible = new Set(d.instances.filter((v) => v.eligible).map((v) => v.ipv4));
          if (d.action === 'update') {
            expect(eligible.has(hostOf(d.desiredUrl ?? '') ?? '')).toBe(true);
            expect(d.desiredUrl).not.toBe(input.currentUrl);
          }
          if (currentN > 0 && eligible.has(`10.0.0.${currentN}`)) expect(d.action).toBe('noop');
          if (eligible.size > 0) expect(d.action).not.toBe('skip');
          if (eligible.size === 0) expect(d.action).not.toBe('update');
        },
      ),
      { numRuns: 500, seed: 42 },
    );
  });
});
