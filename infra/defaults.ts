/**
 * The construct's defaults and fixed settings, in CDK's types. The plain numbers the simulation also
 * reads are in deployed-defaults.ts, the per-entry delivery's in
 * functions/reconciler/delivery/settings.ts (`DELIVERY`, which the handlers apply too); the names default to the MCP Gateway Registry v1.0.16
 * CloudFormation stack (EnvironmentName `mcp-gateway`).
 */
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DELIVERY } from '../functions/reconciler/delivery/settings';
import { DEPLOYED, V1016_TARGETS } from './deployed-defaults';
import type { ReconcilerLogLevel, ReconcilerTarget } from './props';

/** The v1.0.16 stack's ECS cluster. */
export const DEFAULT_CLUSTER = 'mcp-gateway-ecs-cluster';
/** The v1.0.16 stack's Cloud Map namespace (Service Connect). */
export const DEFAULT_NAMESPACE = 'mcp-gateway.local';
/** The registry's own ECS service: one of its tasks reaching RUNNING re-applies every target. */
export const DEFAULT_REGISTRY_SERVICE = 'mcp-gateway-registry';
/**
 * Name of the Keycloak M2M client secret in the v1.0.16 stack. Its ARN ends in a random suffix that
 * only the deployed account knows, so the construct asks for the complete ARN (see `KeycloakAuthProps`).
 */
export const DEFAULT_M2M_SECRET_NAME = 'mcp-gateway-keycloak-m2m-client-secret';
/** The five entries of the v1.0.16 stack (the CloudFormation deployment's ECS layout). */
export const DEFAULT_TARGETS: readonly ReconcilerTarget[] = V1016_TARGETS;

/** Environment variable that carries the registry's static bearer token (`StaticTokenAuthProps`). */
export const STATIC_TOKEN_ENV = 'REGISTRY_API_TOKEN';
/** The handler the function bundles. */
export const DEFAULT_HANDLER = path.join(__dirname, '..', 'functions', 'reconciler', 'handler.ts');
/** The fan-out's handler: triggers in, one work message per registry entry out. */
export const FANOUT_HANDLER = path.join(__dirname, '..', 'functions', 'fanout', 'handler.ts');

// Sizing (README, "Sizing"). The reconciler works one entry per message group: its worst case (a
// registry read, Cloud Map and ECS with SDK retries, a write and its read-back, every registry call
// 3 attempts × 5 s plus backoff, Cloud Map and ECS 9 s) is 56.4 s (functions/reconciler/wiring.ts,
// deployedBudget), so 60 s; validation.ts refuses less than it needs.
export const DEFAULT_TIMEOUT = Duration.seconds(DELIVERY.workerTimeoutSeconds);
/** The fan-out's timeout: a resync shard's read-only check of 500 entries took ≤ 8.5 s in `npm run sim`. */
export const FANOUT_TIMEOUT = Duration.seconds(DELIVERY.fanoutTimeoutSeconds);
// Memory: `npm run bench` chooses it ("Memory size and cost"): the cheapest size whose peak RSS of a
// cold invocation on Node 24 stays under 60% of it. 128 MB does not leave that room (~97 MB peak).
export const DEFAULT_MEMORY_MB = 256;
export const DEFAULT_RESYNC = Duration.minutes(DEPLOYED.resyncMinutes);
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
export const DEFAULT_LOG_LEVEL: ReconcilerLogLevel = 'INFO';
/** Lambda environment variables may total 4 KB; keep the configuration well under it. */
export const MAX_CONFIG_BYTES = 3_072;
