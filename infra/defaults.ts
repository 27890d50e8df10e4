/**
 * The construct's defaults and fixed settings, in CDK's types. The plain numbers the simulation also
 * reads are in deployed-defaults.ts; the names default to the MCP Gateway Registry v1.0.16
 * CloudFormation stack (EnvironmentName `mcp-gateway`).
 */
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
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

// Sizing (README, "Sizing"). A batch holds at most 10 events and they coalesce to at most one
// reconcile per target: ~0.2 s for a no-op, ~2-3 s for a write with its read-back, +3 s when
// Cloud Map lags. 30 s covers five writes plus a lag retry with room to spare.
export const DEFAULT_TIMEOUT = Duration.seconds(DEPLOYED.functionTimeoutSeconds);
// Memory: `npm run bench` chooses it ("Memory size and cost"): the cheapest size whose peak RSS of a
// cold invocation on Node 24 stays under 60% of it. 128 MB does not leave that room (~97 MB peak).
export const DEFAULT_MEMORY_MB = 256;
export const DEFAULT_RESYNC = Duration.minutes(DEPLOYED.resyncMinutes);
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
export const DEFAULT_LOG_LEVEL: ReconcilerLogLevel = 'INFO';
/** Lambda environment variables may total 4 KB; keep the configuration well under it. */
export const MAX_CONFIG_BYTES = 3_072;
