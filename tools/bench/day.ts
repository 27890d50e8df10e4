import { type CallTally, Fleet, type FleetCounters } from './fleet';
import { SeededRandom, type Summary, summarize } from './stats';

const DAY_MS = 24 * 3600 * 1000;

/** How often things happen in the simulated day. Printed with the figures. */
export interface DayRates {
  /** Rolling deployments per service per day. */
  deploysPerService: number;
  /** Crashes (essential container exits) per task per day; the scheduler replaces the task. */
  crashesPerTask: number;
  /** Scale-outs per service per day, each followed by a scale-in 1–4 h later. */
  scaleOutsPerService: number;
  /** Deployments of the registry itself per day (each new registry task resets the built-in entry). */
  registryRestarts: number;
}

export const DEFAULT_RATES: DayRates = {
  deploysPerService: 1,
  crashesPerTask: 0.1,
  scaleOutsPerService: 1,
  registryRestarts: 1,
};

export interface DayResult {
  services: number;
  resyncEveryMs: number;
  registryTasks: number;
  rates: DayRates;
  counters: FleetCounters;
  tally: CallTally;
  /** Cloud Map calls in the day (DiscoverInstances + GetService), all triggers. */
  cloudMapCalls: number;
  /** … of which caused by the scheduled resync. */
  cloudMapCallsResync: number;
  staleMs: Summary;
  staleEpisodes: number;
  staleOpen: number;
  wallMs: number;
}

/**
 * One simulated day of a fleet through the real handler: deployments, crashes and scaling drawn
 * from `rates` (Poisson counts, uniform times, seeded), a registry deployment, and the scheduled
 * resync. Returns what the function called and how long entries pointed at dead tasks.
 */
export async function runDay(options: {
  services: number;
  seed: number;
  resyncEveryMs: number;
  registryTasks?: number;
  rates?: Partial<DayRates>;
}): Promise<DayResult> {
  const rates = { ...DEFAULT_RATES, ...options.rates };
  const registryTasks = options.registryTasks ?? 2;
  const started = Date.now();
  const fleet = new Fleet({
    services: options.services,
    seed: options.seed,
    resyncEveryMs: options.resyncEveryMs,
    registryTasks,
  });
  const rng = new SeededRandom(options.seed ^ 0xda7);
  const t0 = fleet.clock.now();
  const when = () => t0 + rng.next() * DAY_MS;
  for (const s of fleet.services) {
    for (let i = rng.poisson(rates.deploysPerService); i > 0; i--) fleet.at(when(), () => fleet.deploy(s));
    for (let i = rng.poisson(rates.crashesPerTask * s.live.size); i > 0; i--)
      fleet.at(when(), () => fleet.crash(s));
    for (let i = rng.poisson(rates.scaleOutsPerService); i > 0; i--) {
      const out = when();
      fleet.at(out, () => fleet.scaleOut(s));
      fleet.at(out + (1 + 3 * rng.next()) * 3600_000, () => fleet.scaleIn(s));
    }
  }
  for (let i = rng.poisson(rates.registryRestarts); i > 0; i--)
    fleet.at(when(), () => fleet.restartRegistry());
  await fleet.runUntil(t0 + DAY_MS);
  fleet.finish();
  const cm = (calls: CallTally['calls'] | undefined) =>
    (calls?.['cloudmap.DiscoverInstances'] ?? 0) + (calls?.['cloudmap.GetService'] ?? 0);
  return {
    services: options.services,
    resyncEveryMs: options.resyncEveryMs,
    registryTasks,
    rates,
    counters: fleet.counters,
    tally: fleet.tally,
    cloudMapCalls: cm(fleet.tally.calls),
    cloudMapCallsResync: cm(fleet.tally.callsByTrigger.schedule),
    staleMs: summarize(fleet.stale.durationsMs),
    staleEpisodes: fleet.stale.durationsMs.length + fleet.stale.open,
    staleOpen: fleet.stale.open,
    wallMs: Date.now() - started,
  };
}

/**
 * Option 4 of the design note, analytically: each registry task health-checks every server every
 * `intervalS` and looks the server up in Cloud Map each time. A task that goes away is noticed at
 * each registry task's next check, which comes uniformly within the interval.
 */
export interface PollingModel {
  services: number;
  registryTasks: number;
  intervalS: number;
  cloudMapCallsPerDay: number;
  /** Stale time of an address after its task goes away: mean (half an interval) and worst (one). */
  staleMeanS: number;
  staleMaxS: number;
}

export function pollingModel(services: number, registryTasks: number, intervalS = 300): PollingModel {
  return {
    services,
    registryTasks,
    intervalS,
    cloudMapCallsPerDay: services * registryTasks * (86_400 / intervalS),
    staleMeanS: intervalS / 2,
    staleMaxS: intervalS,
  };
}
