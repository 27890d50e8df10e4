/**
 * The fan-out function: it consumes the trigger queue and sends one work message per registry
 * entry a trigger concerns (a task event: the entries its service backs; the schedule: resync
 * shards; a registry task starting: delayed re-checks). Built with the house settings.
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ReconcilerQueues } from './delivery';
import { buildHouseFunction, type HouseSettings } from './house-lambda';
import { queueEnvironment } from './reconciler-function';
import { FIXED } from './settings';

/** What the fan-out is built from besides the house settings. */
export interface FanoutSettings {
  readonly clusterName: string;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly queues: ReconcilerQueues;
}

/** The fan-out `NodejsFunction`: same memory as the reconciler (a shard checks 500 entries read-only). */
export function buildFanoutFunction(
  scope: Construct,
  house: HouseSettings,
  settings: FanoutSettings,
): nodejs.NodejsFunction {
  return buildHouseFunction(scope, 'FanoutFunction', house, {
    entry: house.props.fanoutEntry ?? FIXED.fanoutEntry,
    description: `Maps registry reconciler triggers to one work message per registry entry (${settings.clusterName})`,
    memorySize: house.settings.memorySize,
    timeout: FIXED.fanoutTimeout,
    role: settings.role,
    logGroup: settings.logGroup,
    environment: queueEnvironment(settings.queues),
  });
}
