import * as v from 'valibot';
import { formatIssues, int, looseObject } from '../config/validation';
import { eniIpv4, findEni, idFromArn, serviceOfGroup, taskArnMismatch } from '../core/task';
import type { TaskEvent } from '../core/types';
import { isIPv4 } from '../core/url';
import { parseJson } from '../json';

// The task vocabulary lives in the core; re-exported for the tools that model ECS tasks.
export { isRunning, isStopping, STOPPING_STATUSES } from '../core/task';
export type { TaskEvent } from '../core/types';

/**
 * Intake of what the Lambda receives: ECS "Task State Change" events and the scheduled resync,
 * either directly from EventBridge or as SQS message bodies. Validation is lenient (ECS adds
 * fields over time; unknown fields are fine) but every field the reconciler relies on is checked.
 * Nothing here throws: bad input becomes a `malformed` intake with a reason.
 */

/** EventBridge's own limit for an event; anything larger did not come from EventBridge. */
export const MAX_EVENT_BYTES = 256 * 1024;

export type Intake =
  | { kind: 'task'; event: TaskEvent }
  | { kind: 'schedule'; eventId: string; time?: string }
  | { kind: 'malformed'; reason: string; eventId?: string };

// Printable ASCII only (`!`–`~`, no `:` before the resource): a looser `\S` would let control
// characters and look-alike Unicode through, and a task id with a NUL in it on to DescribeTasks.
const ARN = /^arn:[!-9;-~]+:ecs:[!-9;-~]*:[!-9;-~]*:(cluster|task)\/[!-~]+$/;
const STATUS = /^[A-Z_]{1,32}$/;
const LAUNCH_TYPE = /^[A-Z0-9_]{1,32}$/;

const nameValue = looseObject({ name: v.optional(v.string()), value: v.optional(v.string()) });
const attachment = looseObject({
  type: v.optional(v.string()),
  status: v.optional(v.string()),
  details: v.optional(v.array(nameValue)),
});
const container = looseObject({
  networkInterfaces: v.optional(v.array(looseObject({ privateIpv4Address: v.optional(v.string()) }))),
});

const envelope = looseObject({
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  source: v.string(),
  'detail-type': v.string(),
  time: v.optional(v.string()),
});

const taskDetail = looseObject({
  clusterArn: v.pipe(v.string(), v.maxLength(2048), v.regex(ARN, 'must be an ECS cluster ARN')),
  taskArn: v.pipe(v.string(), v.maxLength(2048), v.regex(ARN, 'must be an ECS task ARN')),
  lastStatus: v.pipe(v.string(), v.regex(STATUS, 'must be an ECS task status')),
  desiredStatus: v.pipe(v.string(), v.regex(STATUS, 'must be an ECS task status')),
  version: int(0),
  group: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  attachments: v.optional(v.array(attachment)),
  containers: v.optional(v.array(container)),
  stopCode: v.optional(v.string()),
  launchType: v.optional(v.string()),
  startedAt: v.optional(v.string()),
});

/** Parses one event object (already JSON-decoded). */
export function parseEvent(input: unknown): Intake {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { kind: 'malformed', reason: `event is ${describeType(input)}, not an object` };
  }
  const head = v.safeParse(envelope, input);
  if (!head.success)
    return { kind: 'malformed', reason: `not an EventBridge event: ${formatIssues(head.issues)}` };
  const { id: eventId, source, time } = head.output;
  const detailType = head.output['detail-type'];
  if (source === 'aws.events' && detailType === 'Scheduled Event') {
    return { kind: 'schedule', eventId, ...(time === undefined ? {} : { time }) };
  }
  if (source !== 'aws.ecs' || detailType !== 'ECS Task State Change') {
    return {
      kind: 'malformed',
      eventId,
      reason: `unsupported event: source ${source}, detail-type ${detailType}`,
    };
  }
  const detail = v.safeParse(taskDetail, (input as { detail?: unknown }).detail);
  if (!detail.success) {
    return {
      kind: 'malformed',
      eventId,
      reason: `invalid ECS task event: ${formatIssues(detail.issues, 'detail')}`,
    };
  }
  const d = detail.output;
  // One task's event names its cluster twice: a task ARN of another account, Region or cluster
  // than the cluster ARN is not ECS's, and acting on it could move a pointer off a live task.
  const mismatch = taskArnMismatch(d.clusterArn, d.taskArn);
  if (mismatch !== undefined) {
    return {
      kind: 'malformed',
      eventId,
      reason: `invalid ECS task event: detail.taskArn is not a task of detail.clusterArn (${mismatch})`,
    };
  }
  const clusterName = lastSegment(d.clusterArn, 'cluster/');
  const taskId = idFromArn(d.taskArn);
  const service = serviceOfGroup(d.group);
  const eni = findEni(d.attachments);
  const fromEni = eniIpv4(eni);
  const fromContainers = d.containers?.map((c) => c.networkInterfaces?.[0]?.privateIpv4Address).find(Boolean);
  const ip = [fromEni, fromContainers].find((v): v is string => v !== undefined && isIPv4(v));
  const hasTaskNetwork =
    eni !== undefined || d.containers?.some((c) => (c.networkInterfaces?.length ?? 0) > 0) === true;
  const event: TaskEvent = {
    eventId,
    clusterArn: d.clusterArn,
    clusterName,
    taskArn: d.taskArn,
    taskId,
    lastStatus: d.lastStatus,
    desiredStatus: d.desiredStatus,
    version: d.version,
    hasTaskNetwork,
    ...(time === undefined ? {} : { time }),
    ...(d.group === undefined ? {} : { group: d.group }),
    ...(service === undefined || service === '' ? {} : { service }),
    ...(ip === undefined ? {} : { ipv4: ip }),
    ...(d.stopCode === undefined ? {} : { stopCode: d.stopCode }),
    // Informational (it words an explanation): an unknown value is dropped, never a reason to refuse the event.
    ...(d.launchType !== undefined && LAUNCH_TYPE.test(d.launchType) ? { launchType: d.launchType } : {}),
    ...(d.startedAt === undefined ? {} : { startedAt: d.startedAt }),
  };
  return { kind: 'task', event };
}

/** Parses an event delivered as text (an SQS message body), refusing oversized payloads before decoding. */
export function parseEventText(text: string): Intake {
  if (Buffer.byteLength(text, 'utf8') > MAX_EVENT_BYTES) {
    return {
      kind: 'malformed',
      reason: `payload of ${Buffer.byteLength(text, 'utf8')} bytes exceeds ${MAX_EVENT_BYTES}`,
    };
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return { kind: 'malformed', reason: `body is not JSON: ${parsed.error.message}` };
  return parseEvent(parsed.value);
}

function lastSegment(arn: string, marker: string): string {
  const at = arn.indexOf(marker);
  return at < 0 ? arn : arn.slice(at + marker.length);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
