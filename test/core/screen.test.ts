/** Event screening's explanations: they must say what the operator needs to tell cases apart. */
import { type ScreenScope, screen } from '../../functions/lib/core/screen';
import type { TaskEvent } from '../../functions/lib/core/types';
import { parseEvent } from '../../functions/lib/delivery/event';

const OURS = 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster';
const SCOPE_BY_ARN: ScreenScope = { cluster: OURS, clusterName: 'mcp-gateway-ecs-cluster' };

function task(overrides: Partial<TaskEvent> = {}): TaskEvent {
  return {
    eventId: 'e-1',
    clusterArn: OURS,
    clusterName: 'mcp-gateway-ecs-cluster',
    taskArn:
      'arn:aws:ecs:us-west-2:111122223333:task/mcp-gateway-ecs-cluster/0123456789abcdef0123456789abcdef',
    taskId: '0123456789abcdef0123456789abcdef',
    group: 'service:mcp-gateway-currenttime',
    service: 'mcp-gateway-currenttime',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 3,
    hasTaskNetwork: true,
    ...overrides,
  };
}

describe('other-cluster', () => {
  test('a cluster of the same name in another account is named by ARN, with why it differs', () => {
    // Arrange
    const foreign = 'arn:aws:ecs:eu-west-1:444455556666:cluster/mcp-gateway-ecs-cluster';

    // Act
    const result = screen(task({ clusterArn: foreign }), SCOPE_BY_ARN);

    // Assert
    expect(result).toEqual([
      'other-cluster',
      `cluster ${foreign} is not ${OURS}: same name, another account or region`,
    ]);
  });

  test('a cluster of another name is named by its name', () => {
    // Act
    const result = screen(
      task({ clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/batch', clusterName: 'batch' }),
      SCOPE_BY_ARN,
    );

    // Assert
    expect(result).toEqual(['other-cluster', 'cluster batch is not mcp-gateway-ecs-cluster']);
  });
});

describe('no-task-ip', () => {
  test.each([
    ['FARGATE', 'the Fargate task event carries no ENI attachment: no task IP to point at'],
    ['EC2', 'the EC2 task has no ENI (bridge or host network mode): no task IP to point at'],
    [
      undefined,
      'the task has no ENI (EC2 bridge or host network mode, or an event without its attachments): no task IP to point at',
    ],
  ])('launch type %s', (launchType, detail) => {
    // Act
    const result = screen(
      task({ hasTaskNetwork: false, ...(launchType === undefined ? {} : { launchType }) }),
      SCOPE_BY_ARN,
    );

    // Assert
    expect(result).toEqual(['no-task-ip', detail]);
    if (launchType === 'FARGATE') expect(result?.[1]).not.toContain('bridge');
  });

  test('the launch type is read from the event', () => {
    // Arrange: an old Fargate event without attachments.
    const detail = {
      clusterArn: OURS,
      taskArn: task().taskArn,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 2,
      group: 'service:mcp-gateway-currenttime',
      launchType: 'FARGATE',
    };

    // Act
    const intake = parseEvent({ id: 'x', source: 'aws.ecs', 'detail-type': 'ECS Task State Change', detail });

    // Assert
    expect(intake).toMatchObject({ kind: 'task', event: { launchType: 'FARGATE', hasTaskNetwork: false } });
    if (intake.kind !== 'task') throw new Error('not a task');
    expect(screen(intake.event, SCOPE_BY_ARN)?.[1]).toMatch(/^the Fargate task event/);
  });
});
