/**
 * The deployed defaults of the reconcile, in one place (the queue's are in delivery/settings.ts).
 * The wiring (wiring.ts) applies them; tools and tests override them there.
 */
export const DEFAULTS = {
  /** How many entries are read, looked up and written at once within one invocation. */
  parallelism: 4,
  /** How long an ECS service's discovery names are cached. */
  serviceCacheTtlMs: 600_000,
} as const;

/**
 * One look at Cloud Map per delivery (the worker, the fan-out's shard checks): the next delivery
 * looks again. The only value `ReconcilerDeps.lagRetry` takes.
 */
export const NO_LAG_RETRY = { attempts: 0, delayMs: 0 } as const;

// The names of the MCP Gateway Registry v1.0.16 CloudFormation stack (EnvironmentName
// `mcp-gateway`): the configuration's defaults (config.ts).

/** The v1.0.16 stack's ECS cluster. */
export const DEFAULT_CLUSTER = 'mcp-gateway-ecs-cluster';
/** The v1.0.16 stack's Cloud Map namespace (Service Connect). */
export const DEFAULT_NAMESPACE = 'mcp-gateway.local';
/** The registry's own ECS service: one of its tasks reaching RUNNING re-applies every target. */
export const DEFAULT_REGISTRY_SERVICE = 'mcp-gateway-registry';
/** The environment variable a static registry token is read from (the construct sets it). */
export const STATIC_TOKEN_ENV = 'REGISTRY_API_TOKEN';

/**
 * The five registry entries of the MCP Gateway v1.0.16 stack and the ECS services behind them
 * (the CloudFormation deployment's ECS layout): the default targets.
 */
export const V1016_TARGETS = [
  {
    kind: 'server',
    path: '/currenttime/',
    cloudMapService: 'currenttime-server',
    ecsService: 'mcp-gateway-currenttime',
  },
  {
    kind: 'server',
    path: '/airegistry-tools/',
    cloudMapService: 'mcpgw-server',
    ecsService: 'mcp-gateway-mcpgw',
  },
  {
    kind: 'server',
    path: '/realserverfaketools/',
    cloudMapService: 'realserverfaketools-server',
    ecsService: 'mcp-gateway-realserverfaketools',
  },
  {
    kind: 'agent',
    path: '/flight-booking-agent',
    cloudMapService: 'flight-booking-agent',
    ecsService: 'mcp-gateway-flight-booking-agent',
  },
  {
    kind: 'agent',
    path: '/travel-assistant-agent',
    cloudMapService: 'travel-assistant-agent',
    ecsService: 'mcp-gateway-travel-assistant-agent',
  },
] as const satisfies readonly {
  kind: 'server' | 'agent';
  path: string;
  cloudMapService: string;
  ecsService: string;
}[];

/** Waits in real time (the simulation and the tests pass a virtual one). */
export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
