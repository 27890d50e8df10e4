import * as z from 'zod/mini';
import { eniIpv4, findEni, idFromArn } from './core/task';
import type { TaskEvent } from './core/types';
import { isIPv4 } from './core/url';
import { parseJson } from './json';
import { formatIssues } from './validation';

// The task vocabulary lives in the core; re-exported for the tools that model ECS tasks.
export { isRunning, isStopping, STOPPING_STATUSES } from './core/task';
export type { TaskEvent } from './core/types';

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

const nameValue = z.looseObject({ name: z.optional(z.string()), value: z.optional(z.string()) });
const attachment = z.looseObject({
  type: z.optional(z.string()),
  status: z.optional(z.string()),
  details: z.optional(z.array(nameValue)),
});
const container = z.looseObject({
  networkInterfaces: z.optional(z.array(z.looseObject({ privateIpv4Address: z.optional(z.string()) }))),
});

const envelope = z.looseObject({
  id: z.string().check(z.minLength(1), z.maxLength(256)),
  source: z.string(),
  'detail-type': z.string(),
  time: z.optional(z.string()),
});

const taskDetail = z.looseObject({
  clusterArn: z.string().check(z.maxLength(2048), z.regex(ARN, 'must be an ECS cluster ARN')),
  taskArn: z.string().check(z.maxLength(2048), z.regex(ARN, 'must be an ECS task ARN')),
  lastStatus: z.string().check(z.regex(STATUS, 'must be an ECS task status')),
  desiredStatus: z.string().check(z.regex(STATUS, 'must be an ECS task status')),
  version: z.int().check(z.minimum(0)),
  group: z.optional(z.string().check(z.maxLength(1024))),
  attachments: z.optional(z.array(attachment)),
  containers: z.optional(z.array(container)),
  stopCode: z.optional(z.string()),
  launchType: z.optional(z.string()),
  startedAt: z.optional(z.string()),
});

/** Parses one event object (already JSON-decoded). */
export function parseEvent(input: unknown): Intake {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { kind: 'malformed', reason: `event is ${describeType(input)}, not an object` };
  }
  const head = envelope.safeParse(input);
  if (!head.success)
    return { kind: 'malformed', reason: `not an EventBridge event: ${formatIssues(head.error)}` };
  const { id: eventId, source, time } = head.data;
  const detailType = head.data['detail-type'];
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
  const detail = taskDetail.safeParse((input as { detail?: unknown }).detail);
  if (!detail.success) {
    return {
      kind: 'malformed',
      eventId,
      reason: `invalid ECS task event: ${formatIssues(detail.error, 'detail')}`,
    };
  }
  const d = detail.data;
  const clusterName = lastSegment(d.clusterArn, 'cluster/');
  const taskId = idFromArn(d.taskArn);
  const service = d.group?.startsWith('service:') ? d.group.slice('service:'.length) : undefined;
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
