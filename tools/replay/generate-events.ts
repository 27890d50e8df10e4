/**
 * Writes the replay's scenarios (events/scenarios/*.json) and malformed samples (events/malformed/)
 * from compact definitions, so every event has the exact shape ECS delivers. Maintainers run it
 * after changing a scenario: `npx tsx tools/replay/generate-events.ts`; the JSON files are what
 * the replay reads and what users copy from.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scheduledEvent, type TaskEventSpec, taskEvent } from '../../functions/lib/inmemory/events';
import type { ScenarioFile, ScenarioStep, StepExpectation } from './scenario';

const CLUSTER = 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster';
const OTHER_CLUSTER = 'arn:aws:ecs:us-west-2:111122223333:cluster/batch-jobs';
const BASE = Date.parse('2026-03-02T09:00:00Z');

/** Known tasks of the world (events/world.json) and new ones the scenarios start. */
const T = {
  time1: '3f1c2a9b8e7d4c6a9b0e1f2a3b4c5d6e',
  time2: 'a1b2c3d4e5f647a8b9c0d1e2f3a4b5c6',
  time3: 'b2c3d4e5f6a748b9c0d1e2f3a4b5c6d7',
  time4: 'c3d4e5f6a7b849c0d1e2f3a4b5c6d7e8',
  gwOld1: '5a6b7c8d9e0f41a2b3c4d5e6f7a8b9c0',
  gwOld2: '6b7c8d9e0f1a42b3c4d5e6f7a8b9c0d1',
  gwNew1: 'd4e5f6a7b8c94ad1e2f3a4b5c6d7e8f9',
  gwNew2: 'e5f6a7b8c9d04be2f3a4b5c6d7e8f9a0',
  travel1: '9e0f1a2b3c4d45e6f7a8b9c0d1e2f3a4',
  travel2: 'f6a7b8c9d0e14cf3a4b5c6d7e8f9a0b1',
  registry1: '0f1a2b3c4d5e46f7a8b9c0d1e2f3a4b5',
  registry2: '17a8b9c0d1e24f3a4b5c6d7e8f9a0b1c',
  standalone: '28b9c0d1e2f34a4b5c6d7e8f9a0b1c2d',
  other: '39c0d1e2f3a44b5c6d7e8f9a0b1c2d3e',
  bridge: '4ad1e2f3a4b54c6d7e8f9a0b1c2d3e4f',
};

let clock = BASE;
/** The next event time: each step is a few seconds after the one before. */
function at(seconds = 5): string {
  clock += seconds * 1000;
  return new Date(clock).toISOString();
}

function ev(
  service: string | undefined,
  taskId: string,
  lastStatus: string,
  desiredStatus: string,
  version: number,
  ipv4: string | undefined,
  extra: Partial<TaskEventSpec> = {},
) {
  const time = at(extra.time === undefined ? 5 : 0);
  return taskEvent({
    clusterArn: CLUSTER,
    taskId,
    ...(service === undefined ? {} : { service }),
    lastStatus,
    desiredStatus,
    version,
    ...(ipv4 === undefined ? {} : { ipv4 }),
    time,
    startedAt:
      extra.startedAt ?? (lastStatus === 'PROVISIONING' || lastStatus === 'PENDING' ? undefined : time),
    ...extra,
  } as TaskEventSpec);
}

function step(note: string, event: unknown, expect?: StepExpectation): ScenarioStep {
  return { note, event, ...(expect === undefined ? {} : { expect }) };
}

const upd = (path: string, url: string, reason?: string) => ({
  path,
  action: 'update' as const,
  url,
  ...(reason ? { reason } : {}),
});
const noop = (path: string, url: string, reason?: string) => ({
  path,
  action: 'noop' as const,
  url,
  ...(reason ? { reason } : {}),
});

function resync(note = 'the scheduled resync points every entry at a live task'): ScenarioStep {
  return {
    note,
    event: scheduledEvent(`resync-${clock}`, at(1)),
    expect: {
      decisions: [
        upd('/currenttime/', 'http://10.0.1.11:8000/', 'resolve-name'),
        upd('/airegistry-tools/', 'http://10.0.2.22:8003/', 'resolve-name'),
        upd('/realserverfaketools/', 'http://10.0.3.31:8002/', 'resolve-name'),
        upd('/flight-booking-agent', 'http://10.0.4.41:9000/', 'resolve-name'),
        upd('/travel-assistant-agent', 'http://10.0.4.51:9000/', 'resolve-name'),
        // Points outside the namespace (a hosted server): never touched.
        {
          path: '/external-weather/',
          action: 'skip' as const,
          reason: 'foreign',
          url: 'https://weather.example.com/mcp/',
        },
      ],
    },
  };
}

/** A step with what to expect instead when Cloud Map lags behind ECS (`--lag`). */
function lagged(s: ScenarioStep, expect: StepExpectation): ScenarioStep {
  return { ...s, lagged: expect };
}

const TIME = 'mcp-gateway-currenttime';
const GW = 'mcp-gateway-mcpgw';
const TRAVEL = 'mcp-gateway-travel-assistant-agent';
const REG = 'mcp-gateway-registry';

function scenarios(): Record<string, ScenarioFile> {
  const out: Record<string, ScenarioFile> = {};
  const add = (file: string, s: Omit<ScenarioFile, 'steps'>, build: () => ScenarioStep[]) => {
    clock = BASE;
    out[file] = { ...s, steps: build() };
  };

  add(
    '01-first-resync.json',
    {
      scenario: 'First resync after install',
      description:
        'A fresh v1.0.16 stack: every entry still names its Cloud Map service, which does not resolve under Service Connect. The first scheduled resync points each one at a live task; a second one changes nothing.',
    },
    () => [
      resync(),
      step('a second resync finds nothing to change', scheduledEvent('resync-2', at(300)), {
        decisions: [
          noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live'),
          noop('/airegistry-tools/', 'http://10.0.2.22:8003/', 'current-live'),
          noop('/realserverfaketools/', 'http://10.0.3.31:8002/', 'current-live'),
          noop('/flight-booking-agent', 'http://10.0.4.41:9000/', 'current-live'),
          noop('/travel-assistant-agent', 'http://10.0.4.51:9000/', 'current-live'),
        ],
      }),
    ],
  );

  add(
    '02-currenttime-task-lifecycle.json',
    {
      scenario: 'currenttime-server: a task starts, begins to stop, stops',
      description:
        'A second currenttime task goes PROVISIONING → PENDING → RUNNING (pointer moves from the name to the newest live task), then gets desiredStatus STOPPED while still RUNNING (the pointer leaves it at once, before it is gone), then STOPPED.',
    },
    () => [
      step(
        'PROVISIONING: no IP yet, nothing to do',
        ev(TIME, T.time2, 'PROVISIONING', 'RUNNING', 1, undefined),
        { ignored: 'status-not-actionable' },
      ),
      step('PENDING: not serving yet', ev(TIME, T.time2, 'PENDING', 'RUNNING', 2, '10.0.1.12'), {
        ignored: 'status-not-actionable',
      }),
      lagged(
        step(
          'RUNNING: the entry named the service; the newest live task is chosen',
          ev(TIME, T.time2, 'RUNNING', 'RUNNING', 3, '10.0.1.12'),
          {
            decisions: [upd('/currenttime/', 'http://10.0.1.12:8000/', 'resolve-name')],
          },
        ),
        // Cloud Map does not list the new task yet: the other live task is chosen instead.
        { decisions: [upd('/currenttime/', 'http://10.0.1.11:8000/', 'resolve-name')] },
      ),
      lagged(
        step(
          'desiredStatus STOPPED: the first sign it is going; the pointer moves to the other live task',
          ev(TIME, T.time2, 'RUNNING', 'STOPPED', 4, '10.0.1.12'),
          {
            decisions: [upd('/currenttime/', 'http://10.0.1.11:8000/', 'current-not-live')],
          },
        ),
        { decisions: [noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live')] },
      ),
      step('DEACTIVATING', ev(TIME, T.time2, 'DEACTIVATING', 'STOPPED', 5, '10.0.1.12'), {
        decisions: [noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live')],
      }),
      step(
        'STOPPED: the event still carries the IP; nothing changes',
        ev(TIME, T.time2, 'STOPPED', 'STOPPED', 7, '10.0.1.12', { stopCode: 'ServiceSchedulerInitiated' }),
        {
          decisions: [noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live')],
        },
      ),
    ],
  );

  add(
    '03-mcpgw-rolling-deployment.json',
    {
      scenario: 'mcpgw-server: rolling deployment',
      description:
        'Two old tasks are replaced by two new ones. The pointer stays on its old task while it lives (no churn), then moves once, to the newest live task, as soon as its task gets the stop signal.',
    },
    () => [
      resync('the resync points /airegistry-tools/ at the newest old task'),
      step(
        'new task 1 RUNNING: the current old task is live, kept',
        ev(GW, T.gwNew1, 'RUNNING', 'RUNNING', 3, '10.0.2.23'),
        {
          decisions: [noop('/airegistry-tools/', 'http://10.0.2.22:8003/', 'current-live')],
        },
      ),
      step('new task 2 RUNNING', ev(GW, T.gwNew2, 'RUNNING', 'RUNNING', 3, '10.0.2.24'), {
        decisions: [noop('/airegistry-tools/', 'http://10.0.2.22:8003/', 'current-live')],
      }),
      step(
        'old task 1 told to stop: not the current one',
        ev(GW, T.gwOld1, 'RUNNING', 'STOPPED', 4, '10.0.2.21'),
        {
          decisions: [noop('/airegistry-tools/', 'http://10.0.2.22:8003/', 'current-live')],
        },
      ),
      step(
        'old task 2 told to stop: the pointer moves once, to the newest task',
        ev(GW, T.gwOld2, 'RUNNING', 'STOPPED', 4, '10.0.2.22'),
        {
          decisions: [upd('/airegistry-tools/', 'http://10.0.2.24:8003/', 'current-not-live')],
        },
      ),
      step(
        'old task 1 STOPPED',
        ev(GW, T.gwOld1, 'STOPPED', 'STOPPED', 6, '10.0.2.21', { stopCode: 'ServiceSchedulerInitiated' }),
        {
          decisions: [noop('/airegistry-tools/', 'http://10.0.2.24:8003/', 'current-live')],
        },
      ),
      step(
        'old task 2 STOPPED',
        ev(GW, T.gwOld2, 'STOPPED', 'STOPPED', 6, '10.0.2.22', { stopCode: 'ServiceSchedulerInitiated' }),
        {
          decisions: [noop('/airegistry-tools/', 'http://10.0.2.24:8003/', 'current-live')],
        },
      ),
    ],
  );

  add(
    '04-currenttime-scale-out-and-in.json',
    {
      scenario: 'currenttime-server: scale out to 3 tasks and back to 1',
      description:
        'Scaling out never moves the pointer (sticky). Scaling in stops the pointed-at task first: the pointer moves to the newest remaining task before the old one is gone.',
    },
    () => [
      resync(),
      step('task 2 RUNNING', ev(TIME, T.time2, 'RUNNING', 'RUNNING', 3, '10.0.1.12'), {
        decisions: [noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live')],
      }),
      step('task 3 RUNNING', ev(TIME, T.time3, 'RUNNING', 'RUNNING', 3, '10.0.1.13'), {
        decisions: [noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live')],
      }),
      step(
        'scale-in stops task 1, the current one',
        ev(TIME, T.time1, 'RUNNING', 'STOPPED', 5, '10.0.1.11'),
        {
          decisions: [upd('/currenttime/', 'http://10.0.1.13:8000/', 'current-not-live')],
        },
      ),
      step('scale-in stops task 2', ev(TIME, T.time2, 'RUNNING', 'STOPPED', 4, '10.0.1.12'), {
        decisions: [noop('/currenttime/', 'http://10.0.1.13:8000/', 'current-live')],
      }),
      step(
        'task 1 STOPPED',
        ev(TIME, T.time1, 'STOPPED', 'STOPPED', 7, '10.0.1.11', { stopCode: 'ServiceSchedulerInitiated' }),
        {
          decisions: [noop('/currenttime/', 'http://10.0.1.13:8000/', 'current-live')],
        },
      ),
      step(
        'task 2 STOPPED',
        ev(TIME, T.time2, 'STOPPED', 'STOPPED', 6, '10.0.1.12', { stopCode: 'ServiceSchedulerInitiated' }),
        {
          decisions: [noop('/currenttime/', 'http://10.0.1.13:8000/', 'current-live')],
        },
      ),
    ],
  );

  add(
    '05-currenttime-crash-with-cloud-map-lag.json',
    {
      scenario: 'currenttime-server: the only task crashes; its replacement registers late',
      description:
        'EssentialContainerExited with no other task: the entry keeps its address (never blanked) and no-live-instance is counted. The replacement reaches RUNNING 2 s before Cloud Map lists it: the reconciler looks again (1.5 s apart) and writes once it is listed.',
      world: { registrationLagMs: 2000 },
    },
    () => [
      resync(),
      step(
        'the only task crashes: nothing else is live; its stop signal is looked at again while the deferral budget lasts (awaiting-replacement), then the address is kept',
        ev(TIME, T.time1, 'STOPPED', 'STOPPED', 6, '10.0.1.11', { stopCode: 'EssentialContainerExited' }),
        { decisions: [noop('/currenttime/', 'http://10.0.1.11:8000/', 'no-live-instance')] },
      ),
      step(
        'the replacement is RUNNING but Cloud Map lists it 2 s later: looked again, then written',
        ev(TIME, T.time4, 'RUNNING', 'RUNNING', 3, '10.0.1.14'),
        { decisions: [upd('/currenttime/', 'http://10.0.1.14:8000/', 'current-not-live')] },
      ),
    ],
  );

  add(
    '06-registry-restart.json',
    {
      scenario: 'The registry restarts and resets its built-in entry',
      description:
        'On start the registry rewrites /airegistry-tools/ back to http://mcpgw-server:8003/. A registry task reaching RUNNING re-applies every target: that entry is fixed, the others are left alone. The old registry task being told to stop (ECS does that once the new one is healthy, after its reset) re-applies every target once more; its STOPPED event asks for nothing.',
    },
    () => [
      resync(),
      {
        note: 'the new registry task resets its built-in entry on start',
        registry: { kind: 'server', path: '/airegistry-tools/', url: 'http://mcpgw-server:8003/' },
      },
      step(
        'registry task RUNNING: every target is re-applied',
        ev(REG, T.registry2, 'RUNNING', 'RUNNING', 3, '10.0.0.11'),
        {
          decisions: [
            upd('/airegistry-tools/', 'http://10.0.2.22:8003/', 'resolve-name'),
            noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live'),
            noop('/flight-booking-agent', 'http://10.0.4.41:9000/', 'current-live'),
          ],
        },
      ),
      step(
        'the old registry task is told to stop (the handover): every target is re-applied again, in case the reset landed after the RUNNING re-apply',
        ev(REG, T.registry1, 'RUNNING', 'STOPPED', 5, '10.0.0.10'),
        {
          decisions: [
            noop('/airegistry-tools/', 'http://10.0.2.22:8003/', 'current-live'),
            noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live'),
          ],
        },
      ),
      step(
        'the old registry task STOPPED: nothing to do',
        ev(REG, T.registry1, 'STOPPED', 'STOPPED', 7, '10.0.0.10'),
        {
          ignored: 'registry-task-not-running',
        },
      ),
    ],
  );

  add(
    '07-duplicates.json',
    {
      scenario: 'Duplicate deliveries',
      description:
        'ECS delivers at least once: the same event twice, and a burst in one batch, change the registry once at most.',
    },
    () => {
      const running = ev(TRAVEL, T.travel2, 'RUNNING', 'RUNNING', 3, '10.0.4.52');
      const stopping = ev(TRAVEL, T.travel1, 'RUNNING', 'STOPPED', 5, '10.0.4.51');
      return [
        resync(),
        step('agent task 2 RUNNING', running, {
          decisions: [noop('/travel-assistant-agent', 'http://10.0.4.51:9000/', 'current-live')],
        }),
        step('the same event again', running, {
          decisions: [noop('/travel-assistant-agent', 'http://10.0.4.51:9000/', 'current-live')],
        }),
        step('agent task 1 told to stop: the agent card moves to task 2', stopping, {
          decisions: [upd('/travel-assistant-agent', 'http://10.0.4.52:9000/', 'current-not-live')],
        }),
        {
          note: 'the stop event delivered twice more in one batch: coalesced into one reconcile, no write',
          batch: [stopping, stopping],
          expect: { decisions: [noop('/travel-assistant-agent', 'http://10.0.4.52:9000/', 'current-live')] },
        },
      ];
    },
  );

  add(
    '08-late-older-version.json',
    {
      scenario: 'An older event arrives after a newer one',
      description:
        'Events can arrive out of order. A late RUNNING (version 4) after the task was told to stop (version 5) cannot bring it back: ECS and Cloud Map decide, and the event can only take a task out of the running.',
    },
    () => {
      const lateRunning = ev(TIME, T.time1, 'RUNNING', 'RUNNING', 4, '10.0.1.11');
      return [
        resync(),
        step('task 2 RUNNING', ev(TIME, T.time2, 'RUNNING', 'RUNNING', 3, '10.0.1.12'), {
          decisions: [noop('/currenttime/', 'http://10.0.1.11:8000/', 'current-live')],
        }),
        step('task 1 told to stop (version 5)', ev(TIME, T.time1, 'RUNNING', 'STOPPED', 5, '10.0.1.11'), {
          decisions: [upd('/currenttime/', 'http://10.0.1.12:8000/', 'current-not-live')],
        }),
        step('a late RUNNING of task 1 (version 4): the pointer stays on task 2', lateRunning, {
          decisions: [noop('/currenttime/', 'http://10.0.1.12:8000/', 'current-live')],
        }),
      ];
    },
  );

  add(
    '09-not-ours.json',
    {
      scenario: 'Events that ask for nothing',
      description:
        'Another cluster, a standalone task, an EC2 bridge-mode task (no task IP) and an unmanaged service: each is ignored with a reason and counted, and nothing is written.',
      allowIgnored: true,
    },
    () => [
      step(
        'another cluster',
        ev(TIME, T.other, 'RUNNING', 'RUNNING', 3, '10.9.0.1', { clusterArn: OTHER_CLUSTER }),
        {
          ignored: 'other-cluster',
        },
      ),
      step(
        'a standalone task (group family:…)',
        ev(undefined, T.standalone, 'RUNNING', 'RUNNING', 3, '10.0.9.9', { group: 'family:db-migrate' }),
        {
          ignored: 'standalone-task',
        },
      ),
      step(
        'an EC2 bridge-mode task: no task IP',
        ev(TIME, T.bridge, 'RUNNING', 'RUNNING', 3, undefined, { network: 'none' }),
        {
          ignored: 'no-task-ip',
        },
      ),
      step(
        'an unmanaged service (auth-server)',
        ev('mcp-gateway-auth-server', T.standalone, 'RUNNING', 'RUNNING', 3, '10.0.0.21'),
        {
          ignored: 'unmanaged-service',
        },
      ),
    ],
  );

  add(
    '11-replacement-not-yet-in-cloud-map.json',
    {
      scenario: 'currenttime-server: a replacement Cloud Map lists only after the retries',
      description:
        'The only task crashes; its replacement reaches RUNNING 10 s before Cloud Map lists it, longer than the reconciler looks again (2 × 1.5 s). The decision is defer (cloud-map-lag, retryable): the queue redelivers the event, and once Cloud Map lists the task the entry is written.',
      world: { registrationLagMs: 10_000 },
    },
    () => {
      const running = ev(TIME, T.time4, 'RUNNING', 'RUNNING', 3, '10.0.1.14');
      return [
        resync(),
        step(
          'the only task crashes: nothing else is live; its stop signal is looked at again while the deferral budget lasts (awaiting-replacement), then the address is kept',
          ev(TIME, T.time1, 'STOPPED', 'STOPPED', 6, '10.0.1.11', { stopCode: 'EssentialContainerExited' }),
          { decisions: [noop('/currenttime/', 'http://10.0.1.11:8000/', 'no-live-instance')] },
        ),
        step('the replacement is RUNNING; Cloud Map does not list it within the retries: deferred', running, {
          decisions: [
            {
              path: '/currenttime/',
              action: 'defer',
              reason: 'cloud-map-lag',
              url: 'http://10.0.1.11:8000/',
            },
          ],
        }),
        {
          note: 'the queue redelivers the event after its visibility timeout; Cloud Map lists the task now',
          event: running,
          advanceMs: 10_000,
          expect: { decisions: [upd('/currenttime/', 'http://10.0.1.14:8000/', 'current-not-live')] },
        },
      ];
    },
  );

  add(
    '10-malformed.json',
    {
      scenario: 'Malformed and hostile input',
      description:
        'Each file in events/malformed/ is dropped with a reason that names the field, is never retried and never written; the replay goes on with the next one.',
    },
    () =>
      MALFORMED.map(([file, reason]) => ({
        note: file,
        eventFile: `../malformed/${file}`,
        expect: { malformed: reason },
      })),
  );
  return out;
}

/** Malformed samples: file → the part of the reason the reconciler must give. */
const MALFORMED: [string, string, unknown][] = [
  ['not-json.json', 'not JSON', '{"version":"0","id":"oops", "detail-type": "ECS Task State Change",'],
  ['not-an-object.json', 'not an object', ['an', 'array']],
  [
    'cloudtrail-event.json',
    'unsupported event',
    { version: '0', id: 'ct-1', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ecs', detail: {} },
  ],
  [
    'missing-detail.json',
    'detail',
    { version: '0', id: 'no-detail', 'detail-type': 'ECS Task State Change', source: 'aws.ecs' },
  ],
  [
    'version-as-string.json',
    'detail.version',
    (() => {
      const e = taskEvent({
        clusterArn: CLUSTER,
        taskId: T.time2,
        service: TIME,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        version: 3,
        ipv4: '10.0.1.12',
      });
      return { ...e, detail: { ...e.detail, version: 'three' } };
    })(),
  ],
  [
    'bad-task-arn.json',
    'detail.taskArn',
    (() => {
      const e = taskEvent({
        clusterArn: CLUSTER,
        taskId: T.time2,
        service: TIME,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        version: 3,
        ipv4: '10.0.1.12',
      });
      return { ...e, detail: { ...e.detail, taskArn: 'not-an-arn' } };
    })(),
  ],
];

function main(): void {
  const root = join(__dirname, '..', '..', 'events');
  mkdirSync(join(root, 'scenarios'), { recursive: true });
  mkdirSync(join(root, 'malformed'), { recursive: true });
  for (const [file, scenario] of Object.entries(scenarios())) {
    writeFileSync(join(root, 'scenarios', file), `${JSON.stringify(scenario, null, 2)}\n`);
  }
  for (const [file, , body] of MALFORMED) {
    writeFileSync(
      join(root, 'malformed', file),
      typeof body === 'string' ? `${body}\n` : `${JSON.stringify(body, null, 2)}\n`,
    );
  }
  // Written in the repository's own JSON style, so `npm run lint` stays clean after a regeneration.
  const biome = require.resolve('@biomejs/biome/bin/biome');
  spawnSync(process.execPath, [biome, 'format', '--write', join(root, 'scenarios')], { stdio: 'inherit' });
}

main();
