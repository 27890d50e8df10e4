import type { ApiName } from '../../functions/reconciler/ports';
import { type CallTally, DEFAULT_TIMING, Fleet, type FleetCounters, type FleetTiming } from './fleet';
import { type KeycloakStandIn, minimumTokens } from './keycloak';
import { SeededRandom, type Summary, summarize } from './stats';

/** The APIs the report counts, in its order, with their names in the table. */
export const REPORTED_APIS: { api: ApiName; label: string }[] = [
  { api: 'cloudmap.DiscoverInstances', label: 'Cloud Map DiscoverInstances' },
  { api: 'ecs.DescribeTasks', label: 'ECS DescribeTasks' },
  { api: 'registry.read', label: 'registry read' },
  { api: 'registry.write', label: 'registry write' },
  { api: 'registry.readBack', label: 'registry read-back (after a write)' },
  { api: 'registry.token', label: 'registry token (Keycloak)' },
];

export interface StormResult {
  name: string;
  services: number;
  /** When the deployments started, spread over this window. */
  windowMs: number;
  timing: Pick<FleetTiming, 'deliveryDelayMs' | 'registrationLagMs' | 'visibilityTimeoutMs'>;
  counters: FleetCounters;
  tally: CallTally;
  /** Stale-pointer episodes (each needs one write: the minimum number of writes). */
  staleEpisodes: number;
  staleMs: Summary;
  staleOpen: number;
  /** Fewest token requests covering the run's registry calls with tokens of the stand-in's lifetime. */
  minimumTokens: number;
  tokenLifetimeS: number;
}

/**
 * A deployment storm: every service of the fleet starts a rolling deployment within one window,
 * through the real handler and the modelled FIFO queue. No scheduled resync runs, so every call
 * counted is one an event caused.
 */
export async function runStorm(options: {
  name: string;
  services: number;
  seed: number;
  keycloak: KeycloakStandIn;
  windowMs?: number;
  timing?: Partial<FleetTiming>;
}): Promise<StormResult> {
  const windowMs = options.windowMs ?? 60_000;
  const fleet = new Fleet({
    services: options.services,
    seed: options.seed,
    resyncEveryMs: 0,
    builtIn: false,
    tokens: options.keycloak.provider,
    ...(options.timing === undefined ? {} : { timing: options.timing }),
  });
  const rng = new SeededRandom(options.seed ^ 0x5eed);
  const start = fleet.clock.now() + 10_000;
  for (const s of fleet.services) fleet.at(start + rng.next() * windowMs, () => fleet.deploy(s));
  await fleet.runUntil(start + windowMs + 20 * 60_000);
  fleet.finish();
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  return {
    name: options.name,
    services: options.services,
    windowMs,
    timing: {
      deliveryDelayMs: timing.deliveryDelayMs,
      registrationLagMs: timing.registrationLagMs,
      visibilityTimeoutMs: timing.visibilityTimeoutMs,
    },
    counters: fleet.counters,
    tally: fleet.tally,
    staleEpisodes: fleet.stale.durationsMs.length + fleet.stale.open,
    staleMs: summarize(fleet.stale.durationsMs),
    staleOpen: fleet.stale.open,
    minimumTokens: minimumTokens(fleet.registryCallTimes, options.keycloak.expiresInS * 1000),
    tokenLifetimeS: options.keycloak.expiresInS,
  };
}
