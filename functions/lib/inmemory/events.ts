import type { EventBridgeEvent } from 'aws-lambda';

/**
 * Builds ECS "Task State Change" events in the exact shape EventBridge delivers them (envelope,
 * ISO timestamps, `eni` attachment with `privateIPv4Address`, containers with `networkInterfaces`),
 * for tests, the replay's scenarios and the simulation.
 */

export interface TaskEventSpec {
  clusterArn: string;
  taskId: string;
  /** `service:<name>` is built from this; omit for a standalone task. */
  service?: string;
  /** Overrides the `group` (e.g. `family:batch`). */
  group?: string;
  lastStatus: string;
  desiredStatus: string;
  version: number;
  ipv4?: string;
  /** `eni` (awsvpc, default) or `none` (EC2 bridge/host mode: no task IP). */
  network?: 'eni' | 'none';
  time?: string;
  startedAt?: string;
  stopCode?: string;
  stoppedReason?: string;
  /** The event id; defaults to one derived from the task and version. */
  id?: string;
}

export type EcsTaskEvent = EventBridgeEvent<'ECS Task State Change', Record<string, unknown>>;

export function taskEvent(spec: TaskEventSpec): EcsTaskEvent {
  const region = spec.clusterArn.split(':')[3] ?? 'us-west-2';
  const account = spec.clusterArn.split(':')[4] ?? '111122223333';
  const clusterName = spec.clusterArn.slice(spec.clusterArn.indexOf('cluster/') + 'cluster/'.length);
  const taskArn = `arn:aws:ecs:${region}:${account}:task/${clusterName}/${spec.taskId}`;
  const time = spec.time ?? '2026-01-01T00:00:00Z';
  const attachmentId = `eni-att-${spec.taskId.slice(0, 8)}`;
  const eniStatus =
    spec.lastStatus === 'STOPPED'
      ? 'DELETED'
      : spec.lastStatus === 'PROVISIONING'
        ? 'PRECREATED'
        : 'ATTACHED';
  const withIp = spec.ipv4 !== undefined && spec.lastStatus !== 'PROVISIONING';
  const attachments =
    spec.network === 'none'
      ? []
      : [
          {
            id: attachmentId,
            type: 'eni',
            status: eniStatus,
            details: [
              { name: 'subnetId', value: 'subnet-0a1b2c3d4e5f60718' },
              ...(withIp
                ? [
                    { name: 'networkInterfaceId', value: `eni-${spec.taskId.slice(0, 17)}` },
                    { name: 'privateIPv4Address', value: spec.ipv4 as string },
                  ]
                : []),
            ],
          },
        ];
  const containerStatus =
    spec.lastStatus === 'STOPPED' ? 'STOPPED' : spec.lastStatus === 'RUNNING' ? 'RUNNING' : 'PENDING';
  return {
    version: '0',
    id: spec.id ?? `${spec.taskId.slice(0, 8)}-0000-4000-8000-${String(spec.version).padStart(12, '0')}`,
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account,
    time,
    region,
    resources: [taskArn],
    detail: {
      attachments,
      availabilityZone: `${region}a`,
      clusterArn: spec.clusterArn,
      containers: [
        {
          containerArn: `arn:aws:ecs:${region}:${account}:container/${clusterName}/${spec.taskId}/app`,
          lastStatus: containerStatus,
          name: 'app',
          taskArn,
          networkInterfaces:
            withIp && spec.network !== 'none' ? [{ attachmentId, privateIpv4Address: spec.ipv4 }] : [],
          ...(spec.network === 'none'
            ? {
                networkBindings: [
                  { bindIP: '0.0.0.0', containerPort: 8000, hostPort: 32768, protocol: 'tcp' },
                ],
              }
            : {}),
        },
      ],
      cpu: '512',
      createdAt: spec.startedAt ?? time,
      desiredStatus: spec.desiredStatus,
      group: spec.group ?? (spec.service === undefined ? 'family:standalone' : `service:${spec.service}`),
      launchType: spec.network === 'none' ? 'EC2' : 'FARGATE',
      lastStatus: spec.lastStatus,
      memory: '1024',
      ...(spec.service === undefined ? {} : { startedBy: 'ecs-svc/1234567890123456789' }),
      ...(spec.startedAt === undefined ? {} : { startedAt: spec.startedAt }),
      ...(spec.stopCode === undefined ? {} : { stopCode: spec.stopCode }),
      ...(spec.stoppedReason === undefined ? {} : { stoppedReason: spec.stoppedReason }),
      taskArn,
      taskDefinitionArn: `arn:aws:ecs:${region}:${account}:task-definition/${spec.service ?? 'standalone'}:1`,
      updatedAt: time,
      version: spec.version,
    },
  };
}

/** The scheduled resync event as EventBridge Scheduler/rules deliver it. */
export function scheduledEvent(
  id: string,
  time = '2026-01-01T00:05:00Z',
): EventBridgeEvent<'Scheduled Event', Record<string, never>> {
  return {
    version: '0',
    id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '111122223333',
    time,
    region: 'us-west-2',
    resources: ['arn:aws:events:us-west-2:111122223333:rule/registry-reconciler-resync'],
    detail: {},
  };
}
