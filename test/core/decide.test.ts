import fc from 'fast-check';
import { type DecisionInput, decide, liveness, untrustedInstances } from '../../functions/lib/core/decide';
import { isPrivateIPv4, ownership } from '../../functions/lib/core/ownership';
import { REASONS } from '../../functions/lib/core/reasons';
import type { CloudMapHealth, CloudMapInstance, TaskState } from '../../functions/lib/core/types';

/**
 * The decision table. Each row is plain data in, one decision out: the action, the reason code,
 * the address written (or none) and the instance chosen. Task A (10.0.1.11) is usually the
 * entry's current task; B (10.0.1.12) and C (10.0.1.13) are the others.
 */

const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccccccccccccccccccc';
const X = 'dddddddddddddddddddddddddddddddd';
const IP = { [A]: '10.0.1.11', [B]: '10.0.1.12', [C]: '10.0.1.13', [X]: '10.0.1.14' } as Record<
  string,
  string
>;

const SVC = 'mcp-gateway-currenttime';
const NAME_URL = 'http://currenttime-server:8000/';
const A_URL = 'http://10.0.1.11:8000/';
const B_URL = 'http://10.0.1.12:8000/';

/** A Cloud Map instance as the adapter returns it (Service Connect: port set, health UNKNOWN). */
function inst(
  id: string,
  options: { ip?: string | null; port?: number | null; health?: CloudMapHealth } = {},
): CloudMapInstance {
  const ipv4 = options.ip === null ? undefined : (options.ip ?? IP[id]);
  const port = options.port === null ? undefined : (options.port ?? 8000);
  return {
    instanceId: id,
    health: options.health ?? 'UNKNOWN',
    ...(ipv4 === undefined ? {} : { ipv4 }),
    ...(port === undefined ? {} : { port }),
    attributes: {
      ...(ipv4 === undefined ? {} : { AWS_INSTANCE_IPV4: ipv4 }),
      ...(port === undefined ? {} : { AWS_INSTANCE_PORT: String(port) }),
    },
  };
}

/** ECS's view of a task. */
function task(
  id: string,
  lastStatus = 'RUNNING',
  desiredStatus = 'RUNNING',
  extra: Partial<TaskState> = {},
): TaskState {
  return {
    taskId: id,
    lastStatus,
    desiredStatus,
    startedAt: '2026-01-01T00:00:00.000Z',
    ipv4: IP[id] ?? '10.9.9.9',
    ...extra,
  };
}

interface Row {
  currentUrl: string;
  instances: CloudMapInstance[];
  tasks: TaskState[];
  /** Tasks that a triggering event shows going away. */
  stopping?: string[];
  /** Tasks that a triggering event shows RUNNING. */
  running?: string[];
  /** Tasks whose stop signal is one of the entry's own triggers. */
  signalled?: string[];
  canDefer?: boolean;
  port?: 'url' | 'instance';
  /** The target's ECS services, when known. */
  ecsServices?: string[];
  expected: {
    action: 'noop' | 'update' | 'defer' | 'skip';
    reason: keyof typeof REASONS;
    /** The address to write; `undefined` means the decision names none. */
    desiredUrl?: string;
    chosen?: string;
  };
}

function inputOf(row: Row): DecisionInput {
  return {
    target: { cloudMapService: 'currenttime-server', port: row.port ?? 'url' },
    namespace: 'mcp-gateway.local',
    currentUrl: row.currentUrl,
    instances: row.instances,
    tasks: new Map(row.tasks.map((t) => [t.taskId, t])),
    stoppingTaskIds: new Set(row.stopping ?? []),
    runningTriggerTaskIds: new Set(row.running ?? []),
    ...(row.signalled === undefined ? {} : { stopTriggerTaskIds: new Set(row.signalled) }),
    canDefer: row.canDefer ?? true,
    ...(row.ecsServices === undefined ? {} : { ecsServices: row.ecsServices }),
  };
}

function run(row: Row) {
  return decide(inputOf(row));
}

const PENDING_STATES = ['PROVISIONING', 'PENDING', 'ACTIVATING'] as const;
const STOPPING_STATES = ['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'] as const;

/** Every state a task can be in, as ECS reports it, plus "RUNNING but told to stop" and "unknown to ECS". */
const LIFECYCLE: { state: string; tasks: (id: string) => TaskState[]; live: boolean }[] = [
  ...PENDING_STATES.map((s) => ({ state: s, tasks: (id: string) => [task(id, s)], live: false })),
  { state: 'RUNNING', tasks: (id) => [task(id)], live: true },
  {
    state: 'RUNNING with desiredStatus STOPPED',
    tasks: (id) => [task(id, 'RUNNING', 'STOPPED')],
    live: false,
  },
  ...STOPPING_STATES.map((s) => ({ state: s, tasks: (id: string) => [task(id, s, 'STOPPED')], live: false })),
  { state: 'missing from ECS', tasks: () => [], live: false },
];

const lifecycleRows: [string, Row][] = LIFECYCLE.flatMap(({ state, tasks, live }): [string, Row][] => [
  [
    `current task ${state}, another task live`,
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [...tasks(A), task(B)],
      expected: live
        ? { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A }
        : { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    `current task live, the other task ${state}`,
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A), ...tasks(B)],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    `entry holds the name, the only task is ${state}`,
    {
      currentUrl: NAME_URL,
      instances: [inst(B)],
      tasks: tasks(B),
      expected: live
        ? { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B }
        : { action: 'noop', reason: 'no-live-instance' },
    },
  ],
]);

const rows: [string, Row][] = [
  ...lifecycleRows,

  // The triggering event outranks ECS and Cloud Map when it says a task is going away.
  [
    'current task RUNNING in ECS but a trigger shows it stopping',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A), task(B)],
      stopping: [A],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'only live task shown stopping by a trigger: kept, not blanked',
    {
      currentUrl: A_URL,
      instances: [inst(A)],
      tasks: [task(A)],
      stopping: [A],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],

  // Duplicates and out-of-order delivery.
  [
    'Cloud Map lists the current task twice',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(A), inst(B)],
      tasks: [task(A), task(B)],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'duplicate RUNNING events for a task already listed: no defer, sticky',
    {
      currentUrl: A_URL,
      instances: [inst(A)],
      tasks: [task(A)],
      running: [A, A],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'older RUNNING event after the task STOPPED (ECS is newer): moves away',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'STOPPED', 'STOPPED', { version: 6 }), task(B)],
      running: [A],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'older RUNNING event after STOPPED, task already deregistered: no defer',
    {
      currentUrl: A_URL,
      instances: [],
      tasks: [task(A, 'STOPPED', 'STOPPED', { version: 6 })],
      running: [A],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'RUNNING v3 and STOPPED v6 of one task in the same batch: stopping wins, no defer',
    {
      currentUrl: A_URL,
      instances: [],
      tasks: [task(A)],
      running: [A],
      stopping: [A],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],

  // Several live instances: sticky, and a deterministic pick when moving.
  [
    'several live, current among them: sticky',
    {
      currentUrl: A_URL,
      instances: [inst(C), inst(B), inst(A)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:00:00.000Z' }),
        task(B, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:05:00.000Z' }),
        task(C, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:09:00.000Z' }),
      ],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'several live, moving: the newest startedAt wins',
    {
      currentUrl: NAME_URL,
      instances: [inst(A), inst(C), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:00:00.000Z' }),
        task(B, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:09:00.000Z' }),
        task(C, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:05:00.000Z' }),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'several live with the same startedAt: the smallest id wins',
    {
      currentUrl: NAME_URL,
      instances: [inst(C), inst(B)],
      tasks: [task(C), task(B)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'a task without startedAt counts as the oldest',
    {
      currentUrl: NAME_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { startedAt: undefined }), task(B)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    // ECS events write 0–3 fractional digits; "…:00.5Z" is later than "…:00Z" although it sorts before it as text.
    'startedAt compared as time, not text (fractional seconds)',
    {
      currentUrl: NAME_URL,
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:00:00Z' }),
        task(B, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:00:00.5Z' }),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'current dead, several live: the newest replaces it',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B), inst(C)],
      tasks: [
        task(A, 'STOPPED', 'STOPPED'),
        task(B, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:09:00.000Z' }),
        task(C, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:05:00.000Z' }),
      ],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],

  // None live: keep the address, never blank it.
  [
    'no instance in Cloud Map at all',
    {
      currentUrl: A_URL,
      instances: [],
      tasks: [],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'every listed task stopped',
    {
      currentUrl: NAME_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'STOPPED', 'STOPPED'), task(B, 'STOPPING', 'STOPPED')],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],

  // Cloud Map lag.
  [
    'RUNNING trigger live in ECS but not listed, nothing else live: defer',
    {
      currentUrl: A_URL,
      instances: [inst(A)],
      tasks: [task(A, 'STOPPED', 'STOPPED'), task(X)],
      running: [X],
      expected: { action: 'defer', reason: 'cloud-map-lag' },
    },
  ],
  // Awaiting the replacement: the stop signal of the entry's own task came before Cloud Map
  // listed another live task.
  [
    "stop signal of the entry's task, still listed, nothing else listed: defer",
    {
      currentUrl: A_URL,
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'STOPPED')],
      stopping: [A],
      signalled: [A],
      expected: { action: 'defer', reason: 'awaiting-replacement' },
    },
  ],
  [
    "stop signal of the entry's task, Cloud Map already dropped it, nothing listed: defer",
    {
      currentUrl: A_URL,
      instances: [],
      tasks: [task(A, 'DEACTIVATING', 'STOPPED')],
      stopping: [A],
      signalled: [A],
      expected: { action: 'defer', reason: 'awaiting-replacement' },
    },
  ],
  [
    "stop signal of the entry's task, the replacement pending in ECS and not listed: defer",
    {
      currentUrl: A_URL,
      instances: [inst(A)],
      tasks: [task(A, 'STOPPING', 'STOPPED'), task(B, 'ACTIVATING')],
      stopping: [A],
      signalled: [A],
      expected: { action: 'defer', reason: 'awaiting-replacement' },
    },
  ],
  [
    "stop signal of the entry's task with the retry budget spent: kept (no-live-instance)",
    {
      currentUrl: A_URL,
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'STOPPED')],
      stopping: [A],
      signalled: [A],
      canDefer: false,
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    "stop signal of the entry's task, the replacement listed and live: moved, no defer",
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'RUNNING', 'STOPPED'), task(B)],
      stopping: [A],
      signalled: [A],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'stop signal of another task than the entry’s, nothing live: kept, no defer',
    {
      currentUrl: A_URL,
      instances: [inst(B)],
      tasks: [task(A, 'STOPPED', 'STOPPED'), task(B, 'RUNNING', 'STOPPED')],
      stopping: [B],
      signalled: [B],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'the entry’s task stopping without its stop signal among the triggers: kept, no defer',
    {
      currentUrl: A_URL,
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'STOPPED')],
      stopping: [A],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    "stop signal of the entry's task, another listed task live but of another service: kept, no defer",
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'RUNNING', 'STOPPED'), task(B, 'RUNNING', 'RUNNING', { group: 'service:intruder' })],
      ecsServices: [SVC],
      stopping: [A],
      signalled: [A],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    "stop signal of the entry's task while the entry holds the name: kept, no defer",
    {
      currentUrl: NAME_URL,
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'STOPPED')],
      stopping: [A],
      signalled: [A],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'Cloud Map lag with the retry budget spent: kept',
    {
      currentUrl: A_URL,
      instances: [],
      tasks: [task(X)],
      running: [X],
      canDefer: false,
      expected: { action: 'noop', reason: 'cloud-map-lag-exhausted' },
    },
  ],
  [
    'RUNNING trigger not listed but another task is live: no defer',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'STOPPED', 'STOPPED'), task(B), task(X)],
      running: [X],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'RUNNING trigger not listed, current still live: sticky, no defer',
    {
      currentUrl: A_URL,
      instances: [inst(A)],
      tasks: [task(A), task(X)],
      running: [X],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'RUNNING trigger that ECS still shows PENDING: not lag',
    {
      currentUrl: A_URL,
      instances: [],
      tasks: [task(X, 'PENDING')],
      running: [X],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'RUNNING trigger listed without an IPv4: not lag',
    {
      currentUrl: A_URL,
      instances: [inst(X, { ip: null })],
      tasks: [task(X)],
      running: [X],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],

  // A forged event cannot steer: the address written comes from Cloud Map.
  [
    'forged RUNNING event for a task ECS does not know: no defer, no write',
    {
      currentUrl: A_URL,
      instances: [],
      tasks: [],
      running: [X],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  // Eligibility checks both sources: ECS must give the task the instance's IPv4, and (when the
  // target's ECS service is known) the task must be of that service.
  [
    'ECS gives the task another IP than Cloud Map: never written',
    {
      currentUrl: NAME_URL,
      instances: [inst(B)],
      tasks: [task(B, 'RUNNING', 'RUNNING', { ipv4: '6.6.6.6' })],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'ECS gives another IP for the newest task: the other task is chosen',
    {
      currentUrl: NAME_URL,
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { ipv4: '10.0.1.99', startedAt: '2026-01-01T00:09:00.000Z' }),
        task(B),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    "the current address is Cloud Map's IP for a task ECS gives another: moved off it",
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { ipv4: '10.0.1.99' }), task(B)],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'ECS gives the task no IP at all: not eligible',
    {
      currentUrl: NAME_URL,
      instances: [inst(A)],
      tasks: [{ taskId: A, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' }],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'IPs that differ only in a trailing dot are the same',
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { ip: '10.0.1.11.' })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'a task of another ECS service is never chosen',
    {
      currentUrl: NAME_URL,
      ecsServices: [SVC],
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { group: 'service:intruder', startedAt: '2026-01-01T00:09:00.000Z' }),
        task(B, 'RUNNING', 'RUNNING', { group: `service:${SVC}` }),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'the only live task is of another ECS service: address kept',
    {
      currentUrl: NAME_URL,
      ecsServices: [SVC],
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { group: 'service:intruder' })],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'a standalone task (family:) when the ECS service is known: not eligible',
    {
      currentUrl: NAME_URL,
      ecsServices: [SVC],
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { group: 'family:currenttime' })],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'the current task is of another ECS service: moved to one of the target',
    {
      currentUrl: A_URL,
      ecsServices: [SVC],
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { group: 'service:intruder' }),
        task(B, 'RUNNING', 'RUNNING', { group: `service:${SVC}` }),
      ],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'any of several known ECS services is accepted',
    {
      currentUrl: NAME_URL,
      ecsServices: ['blue', SVC],
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { group: `service:${SVC}` })],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'no ECS service confirmed to run the target: no task is eligible',
    {
      currentUrl: NAME_URL,
      ecsServices: [],
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { group: `service:${SVC}` })],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'the ECS service is not known: the group is not checked',
    {
      currentUrl: NAME_URL,
      instances: [inst(A)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { group: 'service:anything' })],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: A_URL, chosen: A },
    },
  ],

  // ECS container health: HEALTHY > UNKNOWN > UNHEALTHY; sticky unless UNHEALTHY while a HEALTHY one lives.
  [
    'container HEALTHY preferred over a newer UNKNOWN task (still starting)',
    {
      currentUrl: NAME_URL,
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { healthStatus: 'HEALTHY' }),
        task(B, 'RUNNING', 'RUNNING', { healthStatus: 'UNKNOWN', startedAt: '2026-01-01T00:09:00.000Z' }),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'container UNKNOWN preferred over a newer UNHEALTHY task',
    {
      currentUrl: NAME_URL,
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING'),
        task(B, 'RUNNING', 'RUNNING', { healthStatus: 'UNHEALTHY', startedAt: '2026-01-01T00:09:00.000Z' }),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'container health outranks Cloud Map health',
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { health: 'HEALTHY' }), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { healthStatus: 'UNKNOWN' }),
        task(B, 'RUNNING', 'RUNNING', { healthStatus: 'HEALTHY' }),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'a container-UNHEALTHY task only when nothing else is live',
    {
      currentUrl: NAME_URL,
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { healthStatus: 'UNHEALTHY' }), task(B, 'STOPPED', 'STOPPED')],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'current container UNHEALTHY while another is HEALTHY: moves',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B), inst(C)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { healthStatus: 'UNHEALTHY' }),
        task(B, 'RUNNING', 'RUNNING', { healthStatus: 'HEALTHY' }),
        task(C, 'RUNNING', 'RUNNING', { healthStatus: 'UNKNOWN', startedAt: '2026-01-01T00:09:00.000Z' }),
      ],
      expected: { action: 'update', reason: 'current-unhealthy', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'current container UNHEALTHY, the others only UNKNOWN: kept (sticky)',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { healthStatus: 'UNHEALTHY' }),
        task(B, 'RUNNING', 'RUNNING', { healthStatus: 'UNKNOWN' }),
      ],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'current container UNKNOWN while another is HEALTHY: kept (sticky)',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { healthStatus: 'UNKNOWN' }),
        task(B, 'RUNNING', 'RUNNING', { healthStatus: 'HEALTHY' }),
      ],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'current container UNHEALTHY, the HEALTHY one is of another service: kept',
    {
      currentUrl: A_URL,
      ecsServices: [SVC],
      instances: [inst(A), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { healthStatus: 'UNHEALTHY', group: `service:${SVC}` }),
        task(B, 'RUNNING', 'RUNNING', { healthStatus: 'HEALTHY', group: 'service:intruder' }),
      ],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'deployment: the current task stops; the old HEALTHY task wins over the new one still starting',
    {
      currentUrl: A_URL,
      instances: [inst(A), inst(B), inst(C)],
      tasks: [
        task(A, 'RUNNING', 'STOPPED', { healthStatus: 'HEALTHY' }),
        task(B, 'RUNNING', 'RUNNING', { healthStatus: 'HEALTHY' }),
        task(C, 'RUNNING', 'RUNNING', { healthStatus: 'UNKNOWN', startedAt: '2026-01-01T00:09:00.000Z' }),
      ],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],

  // Hosts are compared normalised: letter case and a trailing dot do not make another host.
  [
    'the current IP with a trailing dot is still the live task: no write',
    {
      currentUrl: 'http://10.0.1.11.:8000/',
      instances: [inst(A), inst(B)],
      tasks: [task(A), task(B, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:09:00.000Z' })],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: 'http://10.0.1.11.:8000/', chosen: A },
    },
  ],
  [
    'the long name in another letter case with a trailing dot resolves',
    {
      currentUrl: 'http://CurrentTime-Server.MCP-Gateway.Local.:8000/mcp',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: {
        action: 'update',
        reason: 'resolve-name',
        desiredUrl: 'http://10.0.1.11:8000/mcp',
        chosen: A,
      },
    },
  ],
  [
    'the current IP with a trailing dot and a changed instance port: the port is fixed',
    {
      currentUrl: 'http://10.0.1.11.:8000/',
      port: 'instance',
      instances: [inst(A, { port: 9000 })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'port-changed', desiredUrl: 'http://10.0.1.11:9000/', chosen: A },
    },
  ],

  // Ownership.
  [
    'foreign host: a public name',
    {
      currentUrl: 'http://example.com:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'skip', reason: 'foreign' },
    },
  ],
  [
    "foreign host: another service's Cloud Map name",
    {
      currentUrl: 'http://mcpgw-server:8003/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'skip', reason: 'foreign' },
    },
  ],
  [
    'foreign host: the right name in another namespace',
    {
      currentUrl: 'http://currenttime-server.other.local:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'skip', reason: 'foreign' },
    },
  ],
  [
    'foreign host: an IPv6 literal',
    {
      currentUrl: 'http://[fd00::11]:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'skip', reason: 'foreign' },
    },
  ],
  [
    'foreign host: a public IPv4 Cloud Map does not list is never rewritten',
    {
      currentUrl: 'http://1.2.3.4:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'skip', reason: 'foreign' },
    },
  ],
  [
    'a public IPv4 Cloud Map lists for the target is ours (kept while its task lives)',
    {
      currentUrl: 'http://54.12.0.7:8000/',
      instances: [inst(A, { ip: '54.12.0.7' })],
      tasks: [task(A, 'RUNNING', 'RUNNING', { ipv4: '54.12.0.7' })],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: 'http://54.12.0.7:8000/', chosen: A },
    },
  ],
  [
    'a private IPv4 of a replaced task (CGNAT) moves to a live task',
    {
      currentUrl: 'http://100.64.3.9:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'foreign host: a name that only starts like an IPv4',
    {
      currentUrl: 'http://10.0.1.11.nip.io:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'skip', reason: 'foreign' },
    },
  ],
  [
    'no usable URL',
    {
      currentUrl: 'currenttime-server:8000',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'skip', reason: 'unparsable-url' },
    },
  ],
  [
    'empty URL',
    {
      currentUrl: '',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'skip', reason: 'unparsable-url' },
    },
  ],

  // Hosts: short, FQDN, IP, upper case.
  [
    'short Service Connect name',
    {
      currentUrl: 'http://currenttime-server:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:8000/', chosen: A },
    },
  ],
  [
    'FQDN (older DNS-type deployments)',
    {
      currentUrl: 'http://currenttime-server.mcp-gateway.local:8000',
      instances: [inst(A, { port: null })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:8000', chosen: A },
    },
  ],
  [
    'FQDN with a trailing dot',
    {
      currentUrl: 'http://currenttime-server.mcp-gateway.local.:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:8000/', chosen: A },
    },
  ],
  [
    'upper-case FQDN with a path',
    {
      currentUrl: 'http://CurrentTime-Server.MCP-Gateway.LOCAL:8000/mcp/currenttime',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: {
        action: 'update',
        reason: 'resolve-name',
        desiredUrl: 'http://10.0.1.11:8000/mcp/currenttime',
        chosen: A,
      },
    },
  ],
  [
    'upper-case short name',
    {
      currentUrl: 'http://CURRENTTIME-SERVER:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:8000/', chosen: A },
    },
  ],
  [
    'IP host that is no Cloud Map instance',
    {
      currentUrl: 'http://192.168.7.7:8000/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: A_URL, chosen: A },
    },
  ],

  // Ports.
  [
    "default port mode keeps the URL's port even when the instance has another",
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { port: 9999 })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:8000/', chosen: A },
    },
  ],
  [
    'default port mode: a live current task is kept although AWS_INSTANCE_PORT differs',
    {
      currentUrl: A_URL,
      instances: [inst(A, { port: 9999 })],
      tasks: [task(A)],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    "port 'instance' takes AWS_INSTANCE_PORT",
    {
      currentUrl: NAME_URL,
      port: 'instance',
      instances: [inst(A, { port: 9999 })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:9999/', chosen: A },
    },
  ],
  [
    "port 'instance': the current task is live but its port changed",
    {
      currentUrl: A_URL,
      port: 'instance',
      instances: [inst(A, { port: 8080 })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'port-changed', desiredUrl: 'http://10.0.1.11:8080/', chosen: A },
    },
  ],
  [
    "port 'instance', same port: sticky",
    {
      currentUrl: A_URL,
      port: 'instance',
      instances: [inst(A, { port: 8000 })],
      tasks: [task(A)],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    "port 'instance' without AWS_INSTANCE_PORT keeps the URL's port",
    {
      currentUrl: 'http://currenttime-server.mcp-gateway.local:8000/',
      port: 'instance',
      instances: [inst(A, { port: null })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:8000/', chosen: A },
    },
  ],
  [
    "port 'instance' adds a port to a URL that had none",
    {
      currentUrl: 'http://currenttime-server/',
      port: 'instance',
      instances: [inst(A, { port: 8000 })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:8000/', chosen: A },
    },
  ],
  [
    'default port mode leaves a port-less URL port-less',
    {
      currentUrl: 'http://currenttime-server/',
      instances: [inst(A, { port: 8000 })],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11/', chosen: A },
    },
  ],

  // Trailing slashes, paths, schemes: everything but the host is kept.
  [
    'no trailing slash stays without one',
    {
      currentUrl: 'http://currenttime-server:8000',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: 'http://10.0.1.11:8000', chosen: A },
    },
  ],
  [
    'path with a trailing slash is kept',
    {
      currentUrl: 'http://currenttime-server:8000/mcp/currenttime/',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: {
        action: 'update',
        reason: 'resolve-name',
        desiredUrl: 'http://10.0.1.11:8000/mcp/currenttime/',
        chosen: A,
      },
    },
  ],
  [
    'https, query and fragment are kept',
    {
      currentUrl: 'https://currenttime-server:8443/base/?a=1&b=2#frag',
      instances: [inst(A)],
      tasks: [task(A)],
      expected: {
        action: 'update',
        reason: 'resolve-name',
        desiredUrl: 'https://10.0.1.11:8443/base/?a=1&b=2#frag',
        chosen: A,
      },
    },
  ],
  [
    'a stale IP is replaced, path kept',
    {
      currentUrl: 'http://10.0.1.11:8000/mcp/',
      instances: [inst(A), inst(B)],
      tasks: [task(A, 'STOPPED', 'STOPPED'), task(B)],
      expected: {
        action: 'update',
        reason: 'current-not-live',
        desiredUrl: 'http://10.0.1.12:8000/mcp/',
        chosen: B,
      },
    },
  ],

  // Cloud Map health: UNHEALTHY only when nothing else is live.
  [
    'UNHEALTHY passed over for a live UNKNOWN one',
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { health: 'UNHEALTHY' }), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:09:00.000Z' }),
        task(B, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:00:00.000Z' }),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'current UNHEALTHY while a HEALTHY one is live: moves',
    {
      currentUrl: A_URL,
      instances: [inst(A, { health: 'UNHEALTHY' }), inst(B, { health: 'HEALTHY' })],
      tasks: [task(A), task(B)],
      expected: { action: 'update', reason: 'current-not-live', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'UNHEALTHY used when it is the only live one',
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { health: 'UNHEALTHY' }), inst(B)],
      tasks: [task(A), task(B, 'STOPPED', 'STOPPED')],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'current UNHEALTHY and the only live one: kept',
    {
      currentUrl: A_URL,
      instances: [inst(A, { health: 'UNHEALTHY' })],
      tasks: [task(A)],
      expected: { action: 'noop', reason: 'current-live', desiredUrl: A_URL, chosen: A },
    },
  ],
  [
    'HEALTHY preferred over a newer UNKNOWN one',
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { health: 'HEALTHY' }), inst(B)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:00:00.000Z' }),
        task(B, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:09:00.000Z' }),
      ],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: A_URL, chosen: A },
    },
  ],

  // Instances without a usable AWS_INSTANCE_IPV4.
  [
    'instance without AWS_INSTANCE_IPV4 passed over',
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { ip: null }), inst(B)],
      tasks: [task(A, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:09:00.000Z' }), task(B)],
      expected: { action: 'update', reason: 'resolve-name', desiredUrl: B_URL, chosen: B },
    },
  ],
  [
    'only instance has no AWS_INSTANCE_IPV4: kept',
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { ip: null })],
      tasks: [task(A)],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
  [
    'AWS_INSTANCE_IPV4 that is not an IPv4 address is never written',
    {
      currentUrl: NAME_URL,
      instances: [inst(A, { ip: '10.0.1.300' }), inst(B, { ip: 'evil.example.com' })],
      tasks: [task(A), task(B)],
      expected: { action: 'noop', reason: 'no-live-instance' },
    },
  ],
];

describe('Function: decide', () => {
  it.each(rows)('%s', (_name, row) => {
    // Prepare
    const { expected } = row;

    // Act
    const decision = run(row);

    // Assess
    expect({
      action: decision.action,
      reason: decision.reason,
      desiredUrl: decision.desiredUrl,
      chosen: decision.chosen,
    }).toEqual({
      action: expected.action,
      reason: expected.reason,
      desiredUrl: expected.desiredUrl,
      chosen: expected.chosen,
    });
    expect(decision.retryable).toBe(expected.action === 'defer');
    expect(decision.detail).not.toBe('');
    expect(REASONS[decision.reason as keyof typeof REASONS]).toBeDefined();
  });

  it('covers every reason code in the table', () => {
    // Prepare
    const reasons = new Set(rows.map(([, row]) => row.expected.reason));

    // Act
    const missing = Object.keys(REASONS).filter((r) => !reasons.has(r as keyof typeof REASONS));

    // Assess
    expect(missing).toEqual([]);
  });

  it("never proposes an address that is not both the chosen instance's IPv4 and ECS's IPv4 for its task", () => {
    // Prepare
    const listed = (row: Row) =>
      new Set(row.instances.flatMap((i) => (i.ipv4 === undefined ? [] : [i.ipv4.replace(/\.$/, '')])));

    // Act
    const written = rows.flatMap(([name, row]) => {
      const d = run(row);
      return d.action === 'update' ? [{ name, host: new URL(d.desiredUrl as string).hostname, row, d }] : [];
    });

    // Assess
    expect(written.length).toBeGreaterThan(20);
    for (const w of written) {
      expect(listed(w.row).has(w.host)).toBe(true);
      expect(w.row.tasks.find((t) => t.taskId === w.d.chosen)?.ipv4).toBe(w.host);
    }
  });

  it('shows why each instance is not eligible, and ECS’s IP when it differs', () => {
    // Prepare
    const row: Row = {
      currentUrl: NAME_URL,
      ecsServices: [SVC],
      instances: [inst(A), inst(B), inst(C, { health: 'UNHEALTHY' }), inst(X)],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { group: `service:${SVC}`, ipv4: '10.0.1.99' }),
        task(B, 'RUNNING', 'RUNNING', { group: 'service:intruder', healthStatus: 'HEALTHY' }),
        task(C, 'RUNNING', 'RUNNING', { group: `service:${SVC}` }),
        task(X, 'RUNNING', 'RUNNING', { group: `service:${SVC}`, healthStatus: 'UNKNOWN' }),
      ],
      expected: { action: 'update', reason: 'resolve-name' },
    };

    // Act
    const decision = run(row);

    // Assess
    expect(
      decision.instances.map((v) => [v.instanceId, v.eligible, v.ineligible, v.ecsIpv4, v.taskHealth]),
    ).toEqual([
      [A, false, 'ip-mismatch', '10.0.1.99', undefined],
      [B, false, 'other-service', undefined, 'HEALTHY'],
      [C, false, 'cloud-map-unhealthy', undefined, undefined],
      [X, true, undefined, undefined, 'UNKNOWN'],
    ]);
    expect(untrustedInstances(decision.instances).map((v) => v.instanceId)).toEqual([A, B]);
    expect(decision.chosen).toBe(X);
  });

  it('says exactly why no instance was chosen when some have live tasks', () => {
    // Prepare
    const Y = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee';
    const row: Row = {
      currentUrl: A_URL,
      ecsServices: [SVC],
      instances: [inst(A), inst(B), inst(C), inst(X), inst(Y, { ip: '10.0.1.15' })],
      tasks: [
        task(A, 'RUNNING', 'RUNNING', { group: `service:${SVC}`, ipv4: '10.0.1.99' }),
        task(B, 'RUNNING', 'RUNNING', { group: `service:${SVC}`, ipv4: '10.0.1.98' }),
        task(C, 'RUNNING', 'RUNNING', { group: 'service:intruder' }),
        task(X, 'STOPPED', 'STOPPED', { group: `service:${SVC}` }),
      ],
      expected: { action: 'noop', reason: 'no-live-instance' },
    };

    // Act
    const decision = run(row);
    const none = run({
      ...row,
      tasks: row.tasks.map((t) => ({ ...t, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' })),
    });
    const one = run({ ...row, instances: [inst(C), inst(X)] });

    // Assess
    expect([decision.action, decision.reason, decision.detail]).toEqual([
      'noop',
      'no-live-instance',
      '3 of 5 Cloud Map instance(s) have live tasks, none eligible: 2 ip-mismatch, 1 other-service; address kept',
    ]);
    expect([none.reason, none.detail]).toEqual([
      'no-live-instance',
      'no live task among 5 Cloud Map instance(s); address kept',
    ]);
    expect(one.detail).toBe(
      '1 of 2 Cloud Map instance(s) has a live task, none eligible: 1 other-service; address kept',
    );
  });

  it('reports one view per Cloud Map instance with its liveness', () => {
    // Prepare
    const row: Row = {
      currentUrl: A_URL,
      instances: [inst(A), inst(A), inst(B, { ip: null }), inst(C, { health: 'HEALTHY' })],
      tasks: [task(A, 'RUNNING', 'STOPPED'), task(B)],
      expected: { action: 'noop', reason: 'no-live-instance' },
    };

    // Act
    const decision = run(row);

    // Assess
    expect(decision.instances).toEqual([
      {
        instanceId: A,
        ipv4: '10.0.1.11',
        port: 8000,
        health: 'UNKNOWN',
        task: 'stopping',
        eligible: false,
        ineligible: 'not-live',
      },
      { instanceId: B, port: 8000, health: 'UNKNOWN', task: 'live', eligible: false, ineligible: 'no-ipv4' },
      {
        instanceId: C,
        ipv4: '10.0.1.13',
        port: 8000,
        health: 'HEALTHY',
        task: 'missing',
        eligible: false,
        ineligible: 'not-live',
      },
    ]);
  });

  it('gives the same decision whatever order Cloud Map lists the instances in', () => {
    // Prepare
    const all = [inst(A), inst(B), inst(C), inst(X, { health: 'UNHEALTHY' })];
    const tasks = new Map(
      [
        task(A, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:01:00.000Z' }),
        task(B, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:02:00.000Z' }),
        task(C, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:02:00.000Z' }),
        task(X, 'RUNNING', 'RUNNING', { startedAt: '2026-01-01T00:03:00.000Z' }),
      ].map((t) => [t.taskId, t]),
    );
    const decideWith = (instances: CloudMapInstance[]) =>
      decide({
        target: { cloudMapService: 'currenttime-server', port: 'url' },
        namespace: 'mcp-gateway.local',
        currentUrl: NAME_URL,
        instances,
        tasks,
        stoppingTaskIds: new Set(),
        runningTriggerTaskIds: new Set(),
        canDefer: true,
      });

    // Act & assess: B and C started together and are newer than A; X is newer still but UNHEALTHY.
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), (order) => {
        const d = decideWith(order);
        expect(d.chosen).toBe(B);
        expect(d.desiredUrl).toBe(B_URL);
      }),
      { seed: 20260101, numRuns: 200 },
    );
  });

  it('does not modify its input', () => {
    // Prepare
    const instances = Object.freeze([Object.freeze(inst(A)), Object.freeze(inst(B))]);
    const input: DecisionInput = Object.freeze({
      target: Object.freeze({ cloudMapService: 'currenttime-server', port: 'instance' as const }),
      namespace: 'mcp-gateway.local',
      currentUrl: A_URL,
      instances: instances as unknown as CloudMapInstance[],
      tasks: new Map([[B, Object.freeze(task(B))]]),
      stoppingTaskIds: new Set([A]),
      runningTriggerTaskIds: new Set<string>(),
      canDefer: true,
    });
    const before = JSON.stringify(input.instances);

    // Act
    const first = decide(input);
    const second = decide(input);

    // Assess
    expect(second).toEqual(first);
    expect(JSON.stringify(input.instances)).toBe(before);
    expect(first.desiredUrl).toBe(B_URL);
  });
});

describe('Function: liveness', () => {
  const tasks = new Map(
    [
      task('live'),
      task('told-to-stop', 'RUNNING', 'STOPPED'),
      task('pending', 'PENDING'),
      task('activating', 'ACTIVATING'),
      task('deactivating', 'DEACTIVATING', 'STOPPED'),
      task('stopped', 'STOPPED', 'STOPPED'),
      task('deleted', 'DELETED', 'STOPPED'),
      task('event-says-stopping'),
    ].map((t) => [t.taskId, t]),
  );

  it.each([
    ['live', 'live'],
    ['told-to-stop', 'stopping'],
    ['pending', 'pending'],
    ['activating', 'pending'],
    ['deactivating', 'stopping'],
    ['stopped', 'stopped'],
    ['deleted', 'stopped'],
    ['event-says-stopping', 'stopping'],
    ['unknown', 'missing'],
  ])('%s → %s', (id, expected) => {
    // Prepare
    const stopping = new Set(['event-says-stopping']);

    // Act
    const result = liveness(id, tasks, stopping);

    // Assess
    expect(result).toBe(expected);
  });
});

describe('Function: decide, with ownership settled by a stronger rule', () => {
  const base = {
    instances: [inst(A)],
    tasks: [task(A)],
    expected: { action: 'skip' as const, reason: 'foreign' as const },
  };

  it('follows it when it says an address the host rule would own is not ours', () => {
    // Act
    const d = decide({
      ...inputOf({ ...base, currentUrl: 'http://10.0.9.9:8000/' }),
      owner: { owned: false, basis: 'foreign', detail: 'not written by the reconciler' },
    });

    // Assess
    expect([d.action, d.reason, d.detail]).toEqual(['skip', 'foreign', 'not written by the reconciler']);
  });

  it('follows it when it says an address the host rule would not own is ours', () => {
    // Act
    const d = decide({
      ...inputOf({ ...base, currentUrl: 'http://1.2.3.4:8000/' }),
      owner: { owned: true, basis: 'listed-ip', detail: 'written by the reconciler' },
    });

    // Assess
    expect([d.action, d.reason, d.desiredUrl]).toEqual(['update', 'current-not-live', A_URL]);
  });
});

describe('Function: ownership', () => {
  const LISTED = ['10.0.1.11', '54.12.0.7'];
  it.each([
    ['currenttime-server', 'cloud-map-name'],
    ['CURRENTTIME-SERVER', 'cloud-map-name'],
    ['currenttime-server.', 'cloud-map-name'],
    ['currenttime-server.mcp-gateway.local', 'cloud-map-fqdn'],
    ['currenttime-server.mcp-gateway.local.', 'cloud-map-fqdn'],
    ['CurrentTime-Server.MCP-Gateway.Local', 'cloud-map-fqdn'],
    ['10.0.1.11', 'listed-ip'],
    ['10.0.1.11.', 'listed-ip'],
    // A public address Cloud Map lists now (a VPC on public address space) is the target's.
    ['54.12.0.7', 'listed-ip'],
    ['10.0.3.17', 'stale-private-ip'],
    ['172.16.0.1', 'stale-private-ip'],
    ['172.31.255.254', 'stale-private-ip'],
    ['192.168.4.4', 'stale-private-ip'],
    ['100.64.0.1', 'stale-private-ip'],
    ['100.127.255.255', 'stale-private-ip'],
    ['1.2.3.4', 'foreign'],
    ['255.255.255.255', 'foreign'],
    ['172.15.255.255', 'foreign'],
    ['172.32.0.1', 'foreign'],
    ['192.169.0.1', 'foreign'],
    ['100.63.255.255', 'foreign'],
    ['100.128.0.1', 'foreign'],
    ['127.0.0.1', 'foreign'],
    ['169.254.169.254', 'foreign'],
    ['currenttime-server.other.local', 'foreign'],
    ['currenttime', 'foreign'],
    ['mcpgw-server', 'foreign'],
    ['registry.example.com', 'foreign'],
    ['10.0.1.11.nip.io', 'foreign'],
    ['10.0.3.256', 'foreign'],
    ['10.0.3', 'foreign'],
    ['[::1]', 'foreign'],
    ['[fd00::11]', 'foreign'],
    ['', 'foreign'],
  ])('%s → %s', (host, basis) => {
    // Act
    const result = ownership({
      host,
      cloudMapService: 'currenttime-server',
      namespace: 'mcp-gateway.local',
      listedIpv4s: LISTED,
    });

    // Assess
    expect(result.basis).toBe(basis);
    expect(result.owned).toBe(basis !== 'foreign');
    expect(result.detail).not.toBe('');
  });

  it('owns a public IPv4 only while Cloud Map lists it', () => {
    // Arrange
    const q = { host: '54.12.0.7', cloudMapService: 'currenttime-server', namespace: 'mcp-gateway.local' };

    // Act
    const listed = ownership({ ...q, listedIpv4s: ['54.12.0.7'] });
    const gone = ownership({ ...q, listedIpv4s: ['10.0.1.11'] });

    // Assess
    expect(listed.owned).toBe(true);
    expect(gone).toMatchObject({ owned: false, basis: 'foreign' });
  });

  it('tells private IPv4 ranges by their bounds', () => {
    // Assess
    expect(
      ['10.0.0.0', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.0.0', '100.64.0.0'].every(
        isPrivateIPv4,
      ),
    ).toBe(true);
    expect(
      ['9.255.255.255', '11.0.0.0', '172.15.0.1', '192.167.255.255', '100.63.0.1', 'example.com'].some(
        isPrivateIPv4,
      ),
    ).toBe(false);
  });
});

describe('Properties: trust, health and host spelling', () => {
  const IPS = ['10.0.1.11', '10.0.1.12', '10.0.1.13', '10.0.1.99'];
  const HEALTH_ORDER = { HEALTHY: 0, UNKNOWN: 1, UNHEALTHY: 2 } as const;
  const arbTask = (id: string) =>
    fc
      .record({
        status: fc.constantFrom(
          ['RUNNING', 'RUNNING'],
          ['RUNNING', 'STOPPED'],
          ['PENDING', 'RUNNING'],
          ['STOPPED', 'STOPPED'],
        ),
        ipv4: fc.option(fc.constantFrom(...IPS), { nil: undefined }),
        group: fc.constantFrom(`service:${SVC}`, 'service:intruder', 'family:currenttime', undefined),
        healthStatus: fc.constantFrom(
          'HEALTHY' as const,
          'UNHEALTHY' as const,
          'UNKNOWN' as const,
          undefined,
        ),
        minute: fc.integer({ min: 0, max: 9 }),
        known: fc.boolean(),
      })
      .map(({ status, ipv4, group, healthStatus, minute, known }): TaskState | undefined =>
        known
          ? {
              taskId: id,
              lastStatus: status[0] as string,
              desiredStatus: status[1] as string,
              startedAt: `2026-01-01T00:0${minute}:00.000Z`,
              ...(ipv4 === undefined ? {} : { ipv4 }),
              ...(group === undefined ? {} : { group }),
              ...(healthStatus === undefined ? {} : { healthStatus }),
            }
          : undefined,
      );
  const arbWorld = fc
    .record({
      ips: fc.tuple(...[A, B, C, X].map(() => fc.constantFrom(...IPS))),
      health: fc.tuple(
        ...[A, B, C, X].map(() => fc.constantFrom<CloudMapHealth>('HEALTHY', 'UNKNOWN', 'UNHEALTHY')),
      ),
      listed: fc.subarray([A, B, C, X], { minLength: 0 }),
      tasks: fc.tuple(...[A, B, C, X].map((id) => arbTask(id))),
      current: fc.constantFrom(...IPS, 'currenttime-server'),
      ecsServices: fc.option(fc.constant([SVC]), { nil: undefined }),
    })
    .map((w) => {
      const ids = [A, B, C, X];
      const input: DecisionInput = {
        target: { cloudMapService: 'currenttime-server', port: 'url' },
        namespace: 'mcp-gateway.local',
        currentUrl: `http://${w.current}:8000/`,
        instances: w.listed.map((id) =>
          inst(id, { ip: w.ips[ids.indexOf(id)], health: w.health[ids.indexOf(id)] }),
        ),
        tasks: new Map(w.tasks.flatMap((t) => (t === undefined ? [] : [[t.taskId, t] as const]))),
        stoppingTaskIds: new Set(),
        runningTriggerTaskIds: new Set(),
        canDefer: false,
        ...(w.ecsServices === undefined ? {} : { ecsServices: w.ecsServices }),
      };
      return input;
    });
  const OPTIONS = { seed: 20261201, numRuns: 2000 };

  it('writes only an address ECS gives the chosen task, of the known service, live', () => {
    fc.assert(
      fc.property(arbWorld, (input) => {
        const d = decide(input);
        if (d.action !== 'update') return;
        const chosenTask = input.tasks.get(d.chosen as string);
        expect(chosenTask?.ipv4).toBe(new URL(d.desiredUrl as string).hostname);
        expect(liveness(d.chosen as string, input.tasks, input.stoppingTaskIds)).toBe('live');
        if (input.ecsServices !== undefined) expect(chosenTask?.group).toBe(`service:${SVC}`);
      }),
      OPTIONS,
    );
  });

  it('marks every instance ECS does not vouch for as ip-mismatch or other-service, and never chooses it', () => {
    fc.assert(
      fc.property(arbWorld, (input) => {
        const d = decide(input);
        for (const v of d.instances) {
          const t = input.tasks.get(v.instanceId);
          if (v.task !== 'live' || v.ipv4 === undefined) continue;
          const wrongService = input.ecsServices !== undefined && t?.group !== `service:${SVC}`;
          const wrongIp = t?.ipv4 !== v.ipv4;
          if (wrongService) expect(v.ineligible).toBe('other-service');
          else if (wrongIp) expect(v.ineligible).toBe('ip-mismatch');
          if (wrongService || wrongIp) expect(d.chosen).not.toBe(v.instanceId);
        }
      }),
      OPTIONS,
    );
  });

  it('chooses by container health: nothing eligible is healthier than a newly chosen task', () => {
    fc.assert(
      fc.property(arbWorld, (input) => {
        const d = decide(input);
        if (d.action !== 'update' || d.reason === 'port-changed') return;
        const rank = (id: string | undefined) =>
          HEALTH_ORDER[d.instances.find((v) => v.instanceId === id)?.taskHealth ?? 'UNKNOWN'];
        for (const v of d.instances.filter((e) => e.eligible)) {
          expect(HEALTH_ORDER[v.taskHealth ?? 'UNKNOWN']).toBeGreaterThanOrEqual(rank(d.chosen));
        }
      }),
      OPTIONS,
    );
  });

  it('keeps a live current task unless it is UNHEALTHY and a HEALTHY one is eligible', () => {
    fc.assert(
      fc.property(arbWorld, (input) => {
        const d = decide(input);
        const host = new URL(input.currentUrl).hostname;
        const current = d.instances.find((v) => v.eligible && v.ipv4 === host);
        if (current === undefined) return;
        const healthyOther = d.instances.some((v) => v.eligible && v.taskHealth === 'HEALTHY');
        if (current.taskHealth === 'UNHEALTHY' && healthyOther) {
          expect(d.reason).toBe('current-unhealthy');
        } else {
          expect([d.action, d.reason, d.chosen]).toEqual(['noop', 'current-live', current.instanceId]);
        }
      }),
      OPTIONS,
    );
  });

  it('decides the same whatever the letter case or trailing dot of the current host', () => {
    fc.assert(
      fc.property(arbWorld, fc.boolean(), fc.boolean(), (input, upper, dot) => {
        const host = new URL(input.currentUrl).hostname;
        const spelled = `${upper ? host.toUpperCase() : host}${dot ? '.' : ''}`;
        const plain = decide(input);
        const other = decide({ ...input, currentUrl: `http://${spelled}:8000/` });
        expect([other.action, other.reason, other.chosen]).toEqual([
          plain.action,
          plain.reason,
          plain.chosen,
        ]);
        if (plain.action === 'update') expect(other.desiredUrl).toBe(plain.desiredUrl);
      }),
      OPTIONS,
    );
  });
});
