import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isRunning,
  isStopping,
  MAX_EVENT_BYTES,
  parseEvent,
  parseEventText,
  type TaskEvent,
} from '../../functions/lib/delivery/event';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';

const FIXTURES = join(__dirname, '..', 'fixtures', 'ecs-events');

/** What each real, published event must parse to, field by field. */
const EXPECTED: Record<string, TaskEvent> = {
  'awsdocs-current-ec2-awsvpc-running-2025.json': {
    eventId: 'a65cf262-f104-0dd5-ceda-4b09ba71a441',
    time: '2025-05-12T13:12:06Z',
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/example',
    clusterName: 'example',
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/example/c1ffa94f19a540ed8d9f7e1d2a5d',
    taskId: 'c1ffa94f19a540ed8d9f7e1d2a5d',
    group: 'family:webserver',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 4,
    ipv4: '10.0.1.37',
    hasTaskNetwork: true,
    launchType: 'EC2',
    startedAt: '2025-05-12T13:12:06.053Z',
  },
  'awsdocs-current-fargate-awsvpc-running-2025.json': {
    eventId: '105f6bb1-4da6-c630-4965-35383018cbca',
    time: '2025-05-06T11:02:34Z',
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/example-cluster',
    clusterName: 'example-cluster',
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/example-cluster/a1173316d40a45dea9',
    taskId: 'a1173316d40a45dea9',
    group: 'family:webserver',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 3,
    ipv4: '10.0.1.163',
    hasTaskNetwork: true,
    launchType: 'FARGATE',
    startedAt: '2025-05-06T11:02:34.325Z',
  },
  // EC2 bridge mode (2016): no ENI, no networkInterfaces, old short task ARN: no task IP at all.
  'awsdocs-ec2-legacy-running-2016.json': {
    eventId: '9bcdac79-b31f-4d3d-9410-fbd727c29fab',
    time: '2016-12-06T16:41:06Z',
    clusterArn: 'arn:aws:ecs:us-east-1:111122223333:cluster/default',
    clusterName: 'default',
    taskArn: 'arn:aws:ecs:us-east-1:111122223333:task/b99d40b3-5176-4f71-9a52-9dbd6f1cebef',
    taskId: 'b99d40b3-5176-4f71-9a52-9dbd6f1cebef',
    group: 'task-group',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 4,
    hasTaskNetwork: false,
    startedAt: '2016-12-06T16:41:06.8Z',
  },
  'awsdocs-fargate-awsvpc-running-2020.json': {
    eventId: '3317b2af-7005-947d-b652-f55e762e571a',
    time: '2020-01-23T17:57:58Z',
    clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster',
    clusterName: 'FargateCluster',
    taskArn: 'arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad',
    taskId: 'c13b4cb40f1f4fe4a2971f76ae5a47ad',
    group: 'family:sample-fargate',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 4,
    ipv4: '10.0.0.139',
    hasTaskNetwork: true,
    launchType: 'FARGATE',
    startedAt: '2020-01-23T17:57:58.103Z',
  },
  // PROVISIONING: the ENI is PRECREATED with only a subnet, so there is a task network but no IP yet.
  'fargate-awsvpc-provisioning-service-redacted-aws-to-slack.json': {
    eventId: '0efbccea-222d-61fc-c9f3-############',
    time: '2020-04-14T13:16:34Z',
    clusterArn: 'arn:aws:ecs:eu-west-1:############:cluster/proxy-ecs-cluster-dev',
    clusterName: 'proxy-ecs-cluster-dev',
    taskArn: 'arn:aws:ecs:eu-west-1:############:task/proxy-ecs-cluster-dev/############',
    taskId: '############',
    group: 'service:ProxyApplicationBlueMaster-EcsServiceDev-############',
    service: 'ProxyApplicationBlueMaster-EcsServiceDev-############',
    lastStatus: 'PROVISIONING',
    desiredStatus: 'RUNNING',
    version: 1,
    hasTaskNetwork: true,
    launchType: 'FARGATE',
  },
  'fargate-awsvpc-running-serviceregistries-sdi-attachment-defra-cdp.json': {
    eventId: 'da07ef40-d1c6-8525-ad60-02e1be51531d',
    time: '2023-11-24T11:09:23Z',
    clusterArn: 'arn:aws:ecs:eu-west-2:332499610595:cluster/dev-ecs-public',
    clusterName: 'dev-ecs-public',
    taskArn: 'arn:aws:ecs:eu-west-2:332499610595:task/dev-ecs-public/f8bec92bed774ee4b27711702a862de5',
    taskId: 'f8bec92bed774ee4b27711702a862de5',
    group: 'service:cdp-demo-test-15',
    service: 'cdp-demo-test-15',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 5,
    ipv4: '10.249.47.254',
    hasTaskNetwork: true,
    launchType: 'FARGATE',
    startedAt: '2023-11-24T11:09:23.826Z',
  },
  // STOPPED still carries the IP (ENI DELETED).
  'fargate-awsvpc-stopped-userinitiated-jenademoodley.json': {
    eventId: 'ba5eb4e7-60be-82a2-621a-4a1b11112b5b',
    time: '2020-10-08T14:27:07Z',
    clusterArn: 'arn:aws:ecs:eu-west-1:<ACCOUNT_ID_REDACTED>:cluster/default',
    clusterName: 'default',
    taskArn: 'arn:aws:ecs:eu-west-1:<ACCOUNT_ID_REDACTED>:task/default/8993cbec849642b8a9e00da5a620c3fe',
    taskId: '8993cbec849642b8a9e00da5a620c3fe',
    group: 'service:nginx-service',
    service: 'nginx-service',
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    version: 6,
    ipv4: '172.31.20.20',
    hasTaskNetwork: true,
    launchType: 'FARGATE',
    stopCode: 'UserInitiated',
    startedAt: '2020-10-08T14:25:48.75Z',
  },
};

const fixtureFiles = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort();

function fixtureText(file: string): string {
  return readFileSync(join(FIXTURES, file), 'utf8');
}

const VALID = (): Record<string, unknown> =>
  taskEvent({
    clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster',
    taskId: '3f1c2a9b8e7d4c6a9b0e1f2a3b4c5d6e',
    service: 'mcp-gateway-currenttime',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 3,
    ipv4: '10.0.1.11',
  }) as unknown as Record<string, unknown>;

describe('Function: parseEvent', () => {
  describe('real ECS events (test/fixtures/ecs-events)', () => {
    it('has an expectation for every fixture file', () => {
      // Prepare
      const expected = Object.keys(EXPECTED).sort();

      // Act
      const files = fixtureFiles;

      // Assess
      expect(files).toEqual(expected);
    });

    it.each(fixtureFiles)('%s parses to the right fields', (file) => {
      // Prepare
      const input: unknown = JSON.parse(fixtureText(file));

      // Act
      const intake = parseEvent(input);

      // Assess
      expect(intake).toEqual({ kind: 'task', event: EXPECTED[file] });
    });

    it.each(fixtureFiles)('%s parses the same from an SQS body', (file) => {
      // Prepare
      const text = fixtureText(file);

      // Act
      const intake = parseEventText(text);

      // Assess
      expect(intake).toEqual({ kind: 'task', event: EXPECTED[file] });
    });

    it.each([
      ['awsdocs-current-ec2-awsvpc-running-2025.json', { running: true, stopping: false }],
      ['fargate-awsvpc-provisioning-service-redacted-aws-to-slack.json', { running: false, stopping: false }],
      ['fargate-awsvpc-stopped-userinitiated-jenademoodley.json', { running: false, stopping: true }],
    ])('%s: isRunning / isStopping', (file, expected) => {
      // Prepare
      const intake = parseEvent(JSON.parse(fixtureText(file)));
      if (intake.kind !== 'task') throw new Error(`fixture ${file} did not parse`);

      // Act
      const result = { running: isRunning(intake.event), stopping: isStopping(intake.event) };

      // Assess
      expect(result).toEqual(expected);
    });
  });

  describe('lenient intake', () => {
    it('accepts unknown fields anywhere', () => {
      // Prepare
      const event = VALID();
      event.newTopLevelField = { anything: [1, 2, 3] };
      (event.detail as Record<string, unknown>).someFutureField = 'x';
      (event.detail as Record<string, unknown>).stopCode = 'SomeNewStopCode';

      // Act
      const intake = parseEvent(event);

      // Assess
      expect(intake).toMatchObject({
        kind: 'task',
        event: { stopCode: 'SomeNewStopCode', ipv4: '10.0.1.11' },
      });
    });

    it('takes the IP from containers when the ENI attachment has none', () => {
      // Prepare
      const event = VALID();
      const detail = event.detail as { attachments: { details: { name: string }[] }[] };
      const eni = detail.attachments[0] as { details: { name: string }[] };
      eni.details = eni.details.filter((d) => d.name !== 'privateIPv4Address');

      // Act
      const intake = parseEvent(event);

      // Assess
      expect(intake).toMatchObject({ kind: 'task', event: { ipv4: '10.0.1.11', hasTaskNetwork: true } });
    });

    it('accepts the DescribeTasks attachment type and ignores an ENI value that is not an IPv4', () => {
      // Prepare
      const event = VALID();
      const detail = event.detail as {
        attachments: { type: string; details: { name: string; value: string }[] }[];
      };
      const eni = detail.attachments[0] as { type: string; details: { name: string; value: string }[] };
      eni.type = 'ElasticNetworkInterface';
      for (const d of eni.details) if (d.name === 'privateIPv4Address') d.value = 'fe80::1';

      // Act
      const intake = parseEvent(event);

      // Assess: the ENI's value is no IPv4, so the containers' one is used.
      expect(intake).toMatchObject({ kind: 'task', event: { ipv4: '10.0.1.11', hasTaskNetwork: true } });
    });

    it('reports a standalone task without a service', () => {
      // Prepare
      const event = VALID();
      (event.detail as Record<string, unknown>).group = 'family:batch-job';

      // Act
      const intake = parseEvent(event);

      // Assess
      expect(intake.kind).toBe('task');
      expect(intake.kind === 'task' && intake.event.service).toBeUndefined();
    });

    it('reads a scheduled event as a resync', () => {
      // Act
      const intake = parseEvent(scheduledEvent('sched-1', '2026-01-01T00:05:00Z'));

      // Assess
      expect(intake).toEqual({ kind: 'schedule', eventId: 'sched-1', time: '2026-01-01T00:05:00Z' });
    });

    it('builds events (functions/lib/inmemory/events) that parse back to what was asked', () => {
      // Prepare
      const built = taskEvent({
        clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster',
        taskId: '4a2d3b0c9f8e4d7b8c1f2a3b4c5d6e7f',
        service: 'mcp-gateway-mcpgw',
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        version: 7,
        ipv4: '10.0.2.22',
        stopCode: 'SpotInterruption',
      });

      // Act
      const intake = parseEvent(built);

      // Assess
      expect(intake).toMatchObject({
        kind: 'task',
        event: {
          clusterName: 'mcp-gateway-ecs-cluster',
          taskId: '4a2d3b0c9f8e4d7b8c1f2a3b4c5d6e7f',
          service: 'mcp-gateway-mcpgw',
          lastStatus: 'STOPPED',
          version: 7,
          ipv4: '10.0.2.22',
          stopCode: 'SpotInterruption',
        },
      });
    });
  });

  describe('rejections', () => {
    it.each([
      ['null', null, /event is null/],
      ['an array', [VALID()], /event is an array/],
      ['a string', 'x', /event is a string/],
      ['not an EventBridge event', { hello: 'world' }, /not an EventBridge event: id:/],
      ['another source', { ...VALID(), source: 'aws.ec2' }, /unsupported event: source aws\.ec2/],
      ['no detail', { ...VALID(), detail: undefined }, /invalid ECS task event: detail:/],
      [
        'version as a string',
        { ...VALID(), detail: { ...(VALID().detail as object), version: '3' } },
        /detail\.version/,
      ],
      [
        'negative version',
        { ...VALID(), detail: { ...(VALID().detail as object), version: -1 } },
        /detail\.version/,
      ],
      [
        'version beyond 2^53',
        { ...VALID(), detail: { ...(VALID().detail as object), version: 2 ** 53 + 2 } },
        /detail\.version/,
      ],
      [
        'lower-case status',
        { ...VALID(), detail: { ...(VALID().detail as object), lastStatus: 'running' } },
        /detail\.lastStatus/,
      ],
      [
        'cluster name instead of ARN',
        { ...VALID(), detail: { ...(VALID().detail as object), clusterArn: 'mcp-gateway-ecs-cluster' } },
        /detail\.clusterArn/,
      ],
      [
        'control character in the task ARN',
        {
          ...VALID(),
          detail: {
            ...(VALID().detail as object),
            taskArn: 'arn:aws:ecs:us-west-2:111122223333:task/mcp-gateway-ecs-cluster/3f1c\u0000beef',
          },
        },
        /detail\.taskArn/,
      ],
    ])('%s → malformed with a reason', (_name, input, reason) => {
      // Act
      const intake = parseEvent(input);

      // Assess
      expect(intake.kind).toBe('malformed');
      expect(intake.kind === 'malformed' && intake.reason).toMatch(reason);
    });
  });
});

describe('Function: parseEventText', () => {
  it('refuses a body over MAX_EVENT_BYTES before decoding it', () => {
    // Prepare: a valid event padded just past the limit (multi-byte characters count as bytes).
    const event = VALID();
    const base = Buffer.byteLength(JSON.stringify(event), 'utf8');
    (event.detail as Record<string, unknown>).padding = 'é'.repeat(
      Math.ceil((MAX_EVENT_BYTES - base) / 2) + 8,
    );
    const text = JSON.stringify(event);

    // Act
    const intake = parseEventText(text);

    // Assess
    expect(text.length).toBeLessThan(MAX_EVENT_BYTES);
    expect(Buffer.byteLength(text, 'utf8')).toBeGreaterThan(MAX_EVENT_BYTES);
    expect(intake).toEqual({
      kind: 'malformed',
      reason: `payload of ${Buffer.byteLength(text, 'utf8')} bytes exceeds ${MAX_EVENT_BYTES}`,
    });
  });

  it('accepts a body of exactly MAX_EVENT_BYTES', () => {
    // Prepare
    const event = VALID();
    (event.detail as Record<string, unknown>).padding = '';
    const base = Buffer.byteLength(JSON.stringify(event), 'utf8');
    (event.detail as Record<string, unknown>).padding = 'x'.repeat(MAX_EVENT_BYTES - base);
    const text = JSON.stringify(event);

    // Act
    const intake = parseEventText(text);

    // Assess
    expect(Buffer.byteLength(text, 'utf8')).toBe(MAX_EVENT_BYTES);
    expect(intake.kind).toBe('task');
  });

  it('reports a body that is not JSON', () => {
    // Act
    const intake = parseEventText('{"id": "x", ');

    // Assess
    expect(intake.kind).toBe('malformed');
    expect(intake.kind === 'malformed' && intake.reason).toMatch(/^body is not JSON: /);
  });
});

describe('Function: isStopping / isRunning', () => {
  it.each([
    ['PROVISIONING', 'RUNNING', false, false],
    ['PENDING', 'RUNNING', false, false],
    ['ACTIVATING', 'RUNNING', false, false],
    ['RUNNING', 'RUNNING', false, true],
    ['RUNNING', 'STOPPED', true, false],
    ['PENDING', 'STOPPED', true, false],
    ['DEACTIVATING', 'STOPPED', true, false],
    ['STOPPING', 'STOPPED', true, false],
    ['DEPROVISIONING', 'STOPPED', true, false],
    ['STOPPED', 'STOPPED', true, false],
    ['DELETED', 'STOPPED', true, false],
  ])('%s / %s → stopping %s, running %s', (lastStatus, desiredStatus, stopping, running) => {
    // Act
    const result = [isStopping({ lastStatus, desiredStatus }), isRunning({ lastStatus, desiredStatus })];

    // Assess
    expect(result).toEqual([stopping, running]);
  });
});
