import { parseEvent } from '../../functions/lib/delivery/event';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import {
  CLUSTER_ARN,
  DEFAULT_TARGETS,
  DISCOVERED_TARGET,
  type Harness,
  harness,
  type Outcome,
  REFS,
  TASKS,
  testConfig,
} from './helpers';

/**
 * What the reconciler checks before it believes Cloud Map: ECS must give the task the instance's
 * IPv4 and run it in the target's ECS service; container health ranks the choice; an ECS answer
 * that fails for a task is an error, never a reason to move.
 */

type SeededTask = { service: string; taskId: string; ipv4: string };

function stopSignal(t: SeededTask) {
  return taskEvent({
    clusterArn: CLUSTER_ARN,
    taskId: t.taskId,
    service: t.service,
    lastStatus: 'RUNNING',
    desiredStatus: 'STOPPED',
    version: 5,
    ipv4: t.ipv4,
  });
}

function running(t: SeededTask) {
  return taskEvent({
    clusterArn: CLUSTER_ARN,
    taskId: t.taskId,
    service: t.service,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 3,
    ipv4: t.ipv4,
  });
}

/** Delivers an event after applying it to the world, as AWS would have. */
async function deliver(h: Harness, event: ReturnType<typeof taskEvent>): Promise<{ outcome: Outcome }> {
  const intake = parseEvent(event);
  if (intake.kind !== 'task') throw new Error('test event did not parse');
  h.world.applyEvent(intake.event);
  return h.handler(event);
}

describe('Reconciler: Cloud Map is checked against ECS', () => {
  it('never writes an IP that ECS does not give the task; counts and warns about it', async () => {
    // Prepare: someone re-registers ct2's instance with another IP
    const h = harness();
    h.world.registerInstance('currenttime-server', {
      instanceId: TASKS.ct2.taskId,
      ipv4: '10.0.1.66',
      port: 8000,
    });

    // Act: the current task is told to stop
    const { outcome } = await deliver(h, stopSignal(TASKS.ct1));

    // Assess
    const record = outcome.records.find((r) => r.target.path === REFS.currenttime.path);
    expect(record).toMatchObject({ action: 'noop', reason: 'no-live-instance' });
    expect(record?.instances.find((v) => v.instanceId === TASKS.ct2.taskId)).toMatchObject({
      ipv4: '10.0.1.66',
      ecsIpv4: TASKS.ct2.ipv4,
      eligible: false,
      ineligible: 'ip-mismatch',
    });
    expect(h.registry.writes).toEqual([]);
    expect(h.metrics.get(MetricName.UntrustedInstance)).toBe(1);
    const warning = h.logger.lines.find((l) => l.level === 'warn' && l.message.startsWith('untrusted'));
    expect(warning?.message).toContain(
      `${TASKS.ct2.taskId} lists 10.0.1.66 but ECS gives the task ${TASKS.ct2.ipv4}`,
    );
  });

  it('never chooses a task of another ECS service listed under the target (configured ecsService)', async () => {
    // Prepare: a HEALTHY mcpgw task is listed under currenttime-server with its true IP
    const h = harness();
    h.world.registerInstance('currenttime-server', {
      instanceId: TASKS.gw1.taskId,
      ipv4: TASKS.gw1.ipv4,
      port: 8000,
    });
    h.world.setTaskHealth(TASKS.gw1.taskId, 'HEALTHY');

    // Act
    const { outcome } = await deliver(h, stopSignal(TASKS.ct1));

    // Assess
    const record = outcome.records.find((r) => r.target.path === REFS.currenttime.path);
    expect(record).toMatchObject({ action: 'update', desiredUrl: `http://${TASKS.ct2.ipv4}:8000/` });
    expect(record?.instances.find((v) => v.instanceId === TASKS.gw1.taskId)?.ineligible).toBe(
      'other-service',
    );
    expect(h.metrics.get(MetricName.UntrustedInstance)).toBe(1);
  });

  it('checks the group for a target whose ECS service was found by the lookup, on events and on the resync', async () => {
    // Prepare: the travel agent names no ecsService; an mcpgw task is listed under its Cloud Map service
    const h = harness({ config: testConfig({ targets: [...DEFAULT_TARGETS, DISCOVERED_TARGET] }) });
    h.world.registerInstance('travel-assistant-agent', {
      instanceId: TASKS.gw1.taskId,
      ipv4: TASKS.gw1.ipv4,
    });
    h.world.setTaskHealth(TASKS.gw1.taskId, 'HEALTHY');

    // Act
    const first = await deliver(h, running(TASKS.ta1));
    // The registry resets the entry, so the resync checks in full instead of from its pointer.
    h.registry.set(REFS.travel, 'http://travel-assistant-agent:9000/');
    const second = await h.handler(scheduledEvent('sched-1'));

    // Assess
    for (const { outcome } of [first, second]) {
      const record = outcome.records.find((r) => r.target.path === REFS.travel.path);
      expect(record?.desiredUrl).toBe(`http://${TASKS.ta1.ipv4}:9001/`);
      expect(record?.instances.find((v) => v.instanceId === TASKS.gw1.taskId)?.ineligible).toBe(
        'other-service',
      );
    }
  });

  it('asks ECS which service a listed task runs in when the target names none, even on the first resync', async () => {
    // Prepare: no event has been looked up yet; a HEALTHY mcpgw task is listed under the travel agent
    const h = harness({ config: testConfig({ targets: [DISCOVERED_TARGET] }) });
    h.world.registerInstance('travel-assistant-agent', {
      instanceId: TASKS.gw1.taskId,
      ipv4: TASKS.gw1.ipv4,
    });
    h.world.setTaskHealth(TASKS.gw1.taskId, 'HEALTHY');

    // Act
    const { outcome } = await h.handler(scheduledEvent('sched-1'));

    // Assess: DescribeServices for both groups; only the travel agent's own service serves it
    const record = outcome.records[0];
    expect(record?.desiredUrl).toBe(`http://${TASKS.ta1.ipv4}:9001/`);
    expect(record?.instances.find((v) => v.instanceId === TASKS.gw1.taskId)?.ineligible).toBe(
      'other-service',
    );
    expect(record?.calls['ecs.DescribeServices']).toBe(2);
  });

  it('moves off a live current task that is UNHEALTHY when another is HEALTHY', async () => {
    // Prepare
    const h = harness();
    h.world.setTaskHealth(TASKS.ct1.taskId, 'UNHEALTHY');
    h.world.setTaskHealth(TASKS.ct2.taskId, 'HEALTHY');

    // Act
    const { outcome } = await h.handler(scheduledEvent('sched-1'));

    // Assess
    expect(outcome.records.find((r) => r.target.path === REFS.currenttime.path)).toMatchObject({
      action: 'update',
      reason: 'current-unhealthy',
      desiredUrl: `http://${TASKS.ct2.ipv4}:8000/`,
    });
  });

  it('makes a DescribeTasks failure (not MISSING) an ecs-failed error: retryable, no move', async () => {
    // Prepare
    const h = harness();
    h.world.failDescribeTasks(1, 'INTERNAL_ERROR');

    // Act
    await deliver(h, stopSignal(TASKS.ct1));

    // Assess: the first delivery moves nothing and says why; its work message goes back to the
    // entry's group, and the redelivery reads ECS afresh (which now answers) and moves it once.
    const records = h.records.filter((r) => r.target.path === REFS.currenttime.path);
    expect(records[0]).toMatchObject({ action: 'error', reason: 'ecs-failed', retryable: true });
    expect(records.map((r) => r.action)).toEqual(['error', 'update']);
    expect(h.registry.writes).toHaveLength(1);
  });

  it("hands the registry every name of the entry's host, for the endpoints that follow the move", async () => {
    // Prepare
    const h = harness();

    // Act
    await deliver(h, stopSignal(TASKS.ct1));

    // Assess
    expect(h.registry.writes.map((w) => [w.path, w.hostForms])).toEqual([
      [
        REFS.currenttime.path,
        { entryHost: TASKS.ct1.ipv4, cloudMapService: 'currenttime-server', namespace: 'mcp-gateway.local' },
      ],
    ]);
  });

  it('does not take a trailing dot on the current IP for another task', async () => {
    // Prepare
    const h = harness();
    h.registry.set(REFS.currenttime, `http://${TASKS.ct1.ipv4}.:8000/`);

    // Act
    const { outcome } = await h.handler(scheduledEvent('sched-1'));

    // Assess
    expect(outcome.records.find((r) => r.target.path === REFS.currenttime.path)).toMatchObject({
      action: 'noop',
      reason: 'current-live',
    });
    expect(h.registry.writes.filter((w) => w.path === REFS.currenttime.path)).toEqual([]);
  });
});
