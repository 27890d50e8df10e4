/**
 * The reconciler function: it consumes the work queue, one registry entry per message group, and
 * keeps that entry pointed at a live task. Built with the house settings (house-lambda.ts).
 */
import type { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../functions/lib/delivery/settings';
import type { ReconcilerQueues } from './delivery';
import { buildHouseFunction, type HouseSettings } from './house-lambda';
import { FIXED } from './settings';

/** What the reconciler is built from besides the house settings. */
export interface FunctionSettings {
  /** For the description. */
  readonly clusterName: string;
  readonly namespace: string;
  readonly timeout: Duration;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly queues: ReconcilerQueues;
}

/** The queue URLs both functions are given. */
export function queueEnvironment(queues: ReconcilerQueues): Record<string, string> {
  return {
    [WORK_QUEUE_URL_ENV]: queues.workQueue.queueUrl,
    [TRIGGER_QUEUE_URL_ENV]: queues.triggerQueue.queueUrl,
  };
}

/** The reconciler `NodejsFunction`. */
export function buildFunction(
  scope: Construct,
  house: HouseSettings,
  settings: FunctionSettings,
): nodejs.NodejsFunction {
  return buildHouseFunction(scope, 'Function', house, {
    entry: house.props.entry ?? FIXED.reconcilerEntry,
    description: `Keeps MCP Gateway Registry entries pointed at live ECS tasks (${settings.clusterName}, ${settings.namespace})`,
    memorySize: house.settings.memorySize,
    timeout: settings.timeout,
    role: settings.role,
    logGroup: settings.logGroup,
    environment: queueEnvironment(settings.queues),
  });
}
