/**
 * Plain numbers with no CDK import, for the simulation (tools/sim) and the benchmarks. The resync
 * interval and the batch size are what the construct deploys; the timeout, visibility and receive
 * count are the single-group delivery's (the design before one message group per entry), which
 * the simulation's base knobs and its single-group counterfactuals model. The per-entry delivery's
 * numbers are `DELIVERY` in infra/defaults.ts. README, "Sizing", says why.
 */
export const DEPLOYED = {
  /** A batch coalesces to at most one reconcile per target: 30 s covers five writes plus Cloud Map lag looks. */
  functionTimeoutSeconds: 30,
  /** Visibility = 3 × timeout: one full invocation plus slack; a failed message blocks the group this long. */
  visibilityFactor: 3,
  /** After 5 receives a message goes to the FIFO DLQ, unblocking the group (at most 5 × 90 s = 7.5 min). */
  maxReceiveCount: 5,
  /** FIFO event sources take at most 10 per batch. */
  batchSize: 10,
  /** The scheduled resync. */
  resyncMinutes: 5,
} as const;

/**
 * The five registry entries of the MCP Gateway v1.0.16 stack and the ECS services behind them
 * (the CloudFormation deployment's ECS layout): the construct's default targets.
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
