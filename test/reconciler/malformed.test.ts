import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_EVENT_BYTES } from '../../functions/lib/delivery/event';
import { taskEvent } from '../../functions/lib/inmemory/events';
import type { IgnoreReason } from '../../functions/lib/reconcile/reconcile';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import { CLUSTER_ARN, type Harness, harness, type Outcome, REFS, sqsBatch, TASKS } from './helpers';

/**
 * The hostile corpus (test/malformed, described in its README.md) through the real handler, both
 * as a direct EventBridge invocation and as an SQS FIFO message body. Every entry must be dropped
 * (EventsMalformed) or ignored (EventsIgnored) with a logged reason: no crash, no retry, no
 * registry read or write.
 *
 * File kinds: `*.json` is one event as delivered; `*.sqs.json` is a whole SQS invocation;
 * `*.body.txt` is the raw text of an SQS message body.
 */

const CORPUS_DIR = join(__dirname, '..', 'malformed');

type Expectation =
  | { outcome: 'malformed' | 'handed-back'; reason: RegExp; records?: number }
  | { outcome: 'ignored'; reason: IgnoreReason };

const malformed = (reason: RegExp, records?: number): Expectation => ({
  outcome: 'malformed',
  reason,
  ...(records === undefined ? {} : { records }),
});
/**
 * A record with no string body (SQS never sends one): the fan-out hands it back to the trigger
 * queue, logged as an error, rather than dropping what it cannot read.
 */
const handedBack = (records?: number): Expectation => ({
  outcome: 'handed-back',
  reason: /SQS record has no string body$/,
  ...(records === undefined ? {} : { records }),
});
const ignored = (reason: IgnoreReason): Expectation => ({ outcome: 'ignored', reason });

const CORPUS: Record<string, Expectation> = {
  '01-null.json': malformed(/^event is null, not an object$/),
  '02-string.json': malformed(/^event is a string, not an object$/),
  '03-number.json': malformed(/^event is a number, not an object$/),
  '04-boolean.json': malformed(/^event is a boolean, not an object$/),
  '05-array-of-events.json': malformed(/^event is an array, not an object$/),
  '06-empty-object.json': malformed(/^not an EventBridge event: id: .*source: .*detail-type: /),
  '07-missing-detail.json': malformed(/^invalid ECS task event: detail: /),
  '08-detail-null.json': malformed(/^invalid ECS task event: detail: /),
  '09-detail-double-encoded-string.json': malformed(/^invalid ECS task event: detail: .*received string/),
  '10-detail-array.json': malformed(/^invalid ECS task event: detail: .*received array/),
  '11-not-ecs-source-ec2.json': malformed(/^unsupported event: source aws\.ec2, detail-type EC2 Instance/),
  '12-ecs-container-instance-event.json': malformed(
    /^unsupported event: .*ECS Container Instance State Change$/,
  ),
  '13-ecs-deployment-event.json': malformed(/^unsupported event: .*ECS Deployment State Change$/),
  '14-detail-type-trailing-space.json': malformed(
    /^unsupported event: source aws\.ecs, detail-type ECS Task State Change $/,
  ),
  '15-event-id-empty.json': malformed(/^not an EventBridge event: id: /),
  '16-event-id-object.json': malformed(/^not an EventBridge event: id: /),
  '17-time-as-number.json': malformed(/^not an EventBridge event: time: /),
  '18-source-missing.json': malformed(/^not an EventBridge event: source: /),
  '19-status-as-number.json': malformed(/detail\.lastStatus: /),
  '20-status-lowercase.json': malformed(/detail\.lastStatus: must be an ECS task status/),
  '21-status-empty.json': malformed(/detail\.lastStatus: must be an ECS task status/),
  '22-status-too-long.json': malformed(/detail\.lastStatus: must be an ECS task status/),
  '23-desired-status-missing.json': malformed(/detail\.desiredStatus: /),
  '24-version-as-string.json': malformed(/detail\.version: /),
  '25-version-negative.json': malformed(/detail\.version: /),
  '26-version-float.json': malformed(/detail\.version: /),
  '27-version-null.json': malformed(/detail\.version: /),
  '28-version-huge.json': malformed(/detail\.version: /),
  '29-version-beyond-2-pow-53.json': malformed(/detail\.version: /),
  '30-cluster-arn-is-a-name.json': malformed(/detail\.clusterArn: must be an ECS cluster ARN/),
  '31-cluster-arn-not-ecs.json': malformed(/detail\.clusterArn: must be an ECS cluster ARN/),
  '32-task-arn-missing.json': malformed(/detail\.taskArn: /),
  '33-task-arn-with-newline.json': malformed(/detail\.taskArn: must be an ECS task ARN/),
  '34-task-arn-control-characters.json': malformed(/detail\.taskArn: must be an ECS task ARN/),
  '35-task-arn-unicode-lookalike.json': malformed(/detail\.taskArn: must be an ECS task ARN/),
  '36-cluster-arn-unicode-homoglyph.json': malformed(/detail\.clusterArn: must be an ECS cluster ARN/),
  '37-attachments-not-array.json': malformed(/detail\.attachments: /),
  '38-network-interfaces-wrong-type.json': malformed(/detail\.containers\.0\.networkInterfaces: /),
  '39-group-too-long.json': malformed(/detail\.group: /),
  '40-group-not-a-string.json': malformed(/detail\.group: /),
  '41-proto-pollution-envelope.json': malformed(/^not an EventBridge event: id: /),
  '42-proto-pollution-detail.json': malformed(/^invalid ECS task event: detail\.clusterArn: /),
  // Delivered directly, the size check may already refuse to serialise 5,000 levels (stack-dependent).
  '43-deeply-nested-detail.body.txt': malformed(
    /^(invalid ECS task event: detail: .*received array|event cannot be measured: RangeError)/,
  ),
  '44-deeply-nested-attachments.body.txt': malformed(/detail\.attachments\.0\.type: .*received object/),
  '45-scheduled-event-junk-envelope.json': malformed(/^not an EventBridge event: id: .*time: /),
  '46-scheduled-event-wrong-source.json': malformed(
    /^unsupported event: source aws\.ecs, detail-type Scheduled Event$/,
  ),
  '47-sqs-record-object-body.sqs.json': handedBack(),
  '48-sqs-records-null-number-array-empty.sqs.json': handedBack(4),
  '49-sqs-body-not-json.sqs.json': malformed(/^body is not JSON: /),
  '50-sqs-body-json-null.sqs.json': malformed(/^event is null, not an object$/),
  '51-sqs-body-double-encoded.sqs.json': malformed(/^event is a string, not an object$/),
  '52-sqs-body-number-and-receive-count-junk.sqs.json': handedBack(),
  '53-body-bom-prefixed.body.txt': malformed(/^body is not JSON: /),
  '54-body-truncated.body.txt': malformed(/^body is not JSON: /),
  '55-body-duplicate-keys.body.txt': malformed(
    /^unsupported event: source aws\.evil, detail-type ECS Task State Change$/,
  ),
  '56-sns-wrapped-event.json': malformed(/^not an EventBridge event: id: /),
  '57-eventbridge-input-transformer-output.json': malformed(/^not an EventBridge event: id: /),
  '58-ignored-other-cluster.json': ignored('other-cluster'),
  '59-ignored-forged-stop-other-cluster.json': ignored('other-cluster'),
  '60-ignored-standalone-task.json': ignored('standalone-task'),
  '61-ignored-custom-group.json': ignored('standalone-task'),
  '62-ignored-empty-service-name.json': ignored('standalone-task'),
  '63-ignored-unmanaged-service.json': ignored('unmanaged-service'),
  '64-ignored-provisioning.json': ignored('status-not-actionable'),
  '65-ignored-unknown-status.json': ignored('status-not-actionable'),
  '66-ignored-ec2-bridge-no-eni.json': ignored('no-task-ip'),
  '67-ignored-registry-task-stopping.json': ignored('registry-task-not-running'),
  '68-forged-task-arn-other-account.json': malformed(
    /^invalid ECS task event: detail\.taskArn is not a task of detail\.clusterArn \(Region eu-central-1 is not us-west-2, account 444455556666 is not 111122223333, cluster attacker-cluster is not mcp-gateway-ecs-cluster\)$/,
  ),
  '69-task-arn-other-cluster.json': malformed(
    /^invalid ECS task event: detail\.taskArn is not a task of detail\.clusterArn \(cluster some-other-cluster is not mcp-gateway-ecs-cluster\)$/,
  ),
};

const files = readdirSync(CORPUS_DIR)
  .filter((f) => f !== 'README.md')
  .sort();

/** A world where any reconcile of currenttime would write (its entry holds the Service Connect name). */
function corpusHarness(): Harness {
  const h = harness();
  h.registry.set(REFS.currenttime, 'http://currenttime-server:8000/');
  return h;
}

/** The invocations a corpus file stands for. */
function invocationsOf(file: string): { via: 'direct' | 'sqs'; event: unknown; records: number }[] {
  const text = readFileSync(join(CORPUS_DIR, file), 'utf8');
  if (file.endsWith('.sqs.json')) {
    const event = JSON.parse(text) as { Records: unknown[] };
    return [{ via: 'sqs', event, records: event.Records.length }];
  }
  const body = file.endsWith('.body.txt') ? text.replace(/\n$/, '') : text;
  const out: { via: 'direct' | 'sqs'; event: unknown; records: number }[] = [
    { via: 'sqs', event: sqsBatch([body], { raw: true }), records: 1 },
  ];
  try {
    const event: unknown = JSON.parse(body);
    JSON.stringify(event);
    out.push({ via: 'direct', event, records: 1 });
  } catch {
    // not JSON, or too deep to serialise: only ever arrives as an SQS body
  }
  return out;
}

function assertDroppedOrIgnored(
  h: Harness,
  expectation: Expectation,
  records: number,
  result: { outcome: Outcome },
): void {
  // No retry, no reconcile, no registry traffic.
  expect(result.outcome.records).toEqual([]);
  if (expectation.outcome !== 'handed-back') expect(h.failures).toEqual([]);
  expect(h.registry.writes).toEqual([]);
  expect(h.world.calls.get('cloudmap.DiscoverInstances')).toBeUndefined();
  expect(h.metrics.get(MetricName.DecisionUpdate) + h.metrics.get(MetricName.DecisionNoop)).toBe(0);

  if (expectation.outcome === 'handed-back') {
    expect(h.metrics.get(MetricName.EventsMalformed)).toBe(0);
    const errors = h.logger.lines.filter(
      (l) => l.level === 'error' && l.message.startsWith('fan-out could not handle message'),
    );
    expect(errors).toHaveLength(expectation.records ?? records);
    for (const e of errors) expect(e.message).toMatch(expectation.reason);
  } else if (expectation.outcome === 'malformed') {
    expect(h.metrics.get(MetricName.EventsMalformed)).toBe(expectation.records ?? records);
    expect(h.metrics.get(MetricName.EventsIgnored)).toBe(0);
    const reasons = h.logger.lines
      .filter((l) => l.level === 'warn' && l.message.startsWith('dropped malformed event: '))
      .map((l) => (l.extra[0] as { malformed: { reason: string } }).malformed.reason);
    expect(reasons).toHaveLength(expectation.records ?? records);
    for (const reason of reasons) expect(reason).toMatch(expectation.reason);
  } else {
    expect(h.metrics.get(MetricName.EventsIgnored)).toBe(1);
    expect(h.metrics.get(MetricName.EventsMalformed)).toBe(0);
    const reasons = h.logger.lines
      .filter((l) => l.message.startsWith('ignored event: '))
      .map((l) => (l.extra[0] as { ignored: { reason: string } }).ignored.reason);
    expect(reasons).toEqual([expectation.reason]);
  }
}

describe('Malformed and hostile events (test/malformed)', () => {
  afterAll(() => {
    // Nothing in the corpus reached Object.prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('id');
    expect(Object.prototype).not.toHaveProperty('detail');
  });

  it('has at least 30 entries, each with an expectation, each listed in the README', () => {
    // Prepare
    const readme = readFileSync(join(CORPUS_DIR, 'README.md'), 'utf8');

    // Act
    const unlisted = files.filter((f) => !readme.includes(`\`${f}\``));

    // Assess
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect(files).toEqual(Object.keys(CORPUS).sort());
    expect(unlisted).toEqual([]);
  });

  describe.each(files)('%s', (file) => {
    const expectation = CORPUS[file] as Expectation;

    it.each(invocationsOf(file).map((inv) => [inv.via, inv] as const))(
      'via %s: no crash, no write, counted, reason logged',
      async (_via, invocation) => {
        // Prepare
        const h = corpusHarness();

        // Act
        const result = await h.handler(invocation.event);

        // Assess
        assertDroppedOrIgnored(h, expectation, invocation.records, result);
      },
    );
  });

  describe('generated huge and deep payloads', () => {
    /** A valid event of ours (it would reconcile and write), padded with an unknown field. */
    function paddedEvent(bytes: number): Record<string, unknown> {
      const event = taskEvent({
        clusterArn: CLUSTER_ARN,
        taskId: TASKS.ct2.taskId,
        service: TASKS.ct2.service,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        version: 3,
        ipv4: TASKS.ct2.ipv4,
      }) as unknown as Record<string, unknown>;
      (event.detail as Record<string, unknown>).padding = 'x'.repeat(bytes);
      return event;
    }

    it('the padded event is otherwise acted on (control)', async () => {
      // Prepare
      const h = corpusHarness();

      // Act
      await h.handler(paddedEvent(1_000));

      // Assess
      expect(h.registry.writes).toHaveLength(1);
    });

    it.each([
      ['an SQS body just over 256 KiB', () => sqsBatch([paddedEvent(MAX_EVENT_BYTES)]), 1],
      [
        'an SQS batch of ten 1 MiB bodies',
        () => sqsBatch(Array.from({ length: 10 }, () => paddedEvent(1 << 20))),
        10,
      ],
      ['a direct invocation over 256 KiB', () => paddedEvent(MAX_EVENT_BYTES), 1],
      ['a direct invocation of 5 MiB', () => paddedEvent(5 << 20), 1],
    ])('drops %s', async (_name, make, records) => {
      // Prepare
      const h = corpusHarness();
      const event = make();

      // Act
      const result = await h.handler(event);

      // Assess
      assertDroppedOrIgnored(h, malformed(/^payload of \d+ bytes exceeds 262144$/, records), records, result);
    });

    it('drops an SQS body of 100,000 nested arrays', async () => {
      // Prepare
      const h = corpusHarness();
      const body = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

      // Act
      const result = await h.handler(sqsBatch([body], { raw: true }));

      // Assess: 200,000 bytes is under the limit; it parses, and is no object.
      assertDroppedOrIgnored(h, malformed(/^event is an array, not an object$/), 1, result);
    });
  });
});
