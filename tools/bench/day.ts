import type { ApiName } from '../../functions/reconciler/ports';
import { CALM_KNOBS, type ChaosKnobs, PER_ENTRY, withKnobs } from '../sim/knobs';
import { runScenario, type ScenarioResult } from '../sim/run';
import type { PlanContext, ScenarioSpec } from '../sim/scenarios';
import { SeededRandom } from './stats';
import { type CallTally, tallyRecords } from './storm';

const DAY_MS = 24 * 3600 * 1000;

/** How often things happen in the simulated day. Printed with the figures. */
export interface DayRates {
  /** Rolling deployments per service per day. */
  deploysPerService: number;
  /** Crashes (essential container exits) per task per day; the service scheduler replaces the task. */
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

/**
 * The simulation's delivery as deployed (per-entry message groups, the fan-out, the published API
 * limits) with its calm settings: no chaos knob on (no duplicates, loss, reordering, registry
 * faults or throttling bursts), the calm Cloud Map lag and ECS lifecycle of tools/sim/cluster.ts.
 */
export function calmDeployedKnobs(resyncMs: number): ChaosKnobs {
  return withKnobs(CALM_KNOBS, { lambda: { ...PER_ENTRY, resyncMs } });
}

export interface DayResult {
  services: number;
  resyncEveryMs: number;
  rates: DayRates;
  /** What the simulation measured (tools/sim/run.ts), records left out. */
  sim: Omit<ScenarioResult, 'records'>;
  /** The reconciler's decision records, tallied. */
  tally: CallTally;
  /** Cloud Map calls in the day (DiscoverInstances + GetService), reconciler and fan-out. */
  cloudMapCalls: number;
  /** … of which the scheduled resync made (the fan-out's shard checks and the work they sent). */
  cloudMapCallsResync: number;
  wallMs: number;
}

/** A day of a fleet as a tools/sim scenario: deployments, crashes, scaling and registry deployments. */
export function daySpec(services: number, seed: number, rates: DayRates, resyncMs: number): ScenarioSpec {
  return {
    name: `bench-day-${services}`,
    description: `${services} services over a day: ${rates.deploysPerService} deployment per service, ${rates.crashesPerTask} crashes per task, ${rates.scaleOutsPerService} scale-out per service (scale-in 1–4 h later), ${rates.registryRestarts} registry deployment.`,
    services,
    tasksPerService: [1, 4],
    registryTasks: [2, 2],
    activityMs: DAY_MS,
    namedTargets: 'all',
    knobs: calmDeployedKnobs(resyncMs),
    plan: (ctx: PlanContext) => {
      // The bench's own stream: the same happenings whatever the resync period.
      const rng = new SeededRandom(seed ^ 0xda7);
      const when = () => Math.floor(rng.next() * DAY_MS);
      for (const svc of ctx.services) {
        for (let i = rng.poisson(rates.deploysPerService); i > 0; i--)
          ctx.at(when(), () => ctx.cluster.deploy(svc));
        const tasks = ctx.cluster.live(svc).length;
        for (let i = rng.poisson(rates.crashesPerTask * tasks); i > 0; i--)
          ctx.at(when(), () => ctx.cluster.crashOne(svc));
        for (let i = rng.poisson(rates.scaleOutsPerService); i > 0; i--) {
          const out = when();
          ctx.at(out, () => {
            if (ctx.cluster.active(svc).length < 4) ctx.cluster.scaleOut(svc, 1);
          });
          ctx.at(out + Math.floor((1 + 3 * rng.next()) * 3_600_000), () => ctx.cluster.scaleIn(svc, 1));
        }
      }
      for (let i = rng.poisson(rates.registryRestarts); i > 0; i--)
        ctx.at(when(), () => ctx.cluster.deploy(ctx.registryService));
    },
  };
}

/**
 * One simulated day of a fleet through the simulation (tools/sim), which runs the deployed handler
 * against its cluster, Cloud Map, queues and registry. Returns what the function called and how
 * long entries pointed at dead tasks.
 */
export async function runDay(options: {
  services: number;
  seed: number;
  resyncEveryMs: number;
  rates?: Partial<DayRates>;
}): Promise<DayResult> {
  const rates = { ...DEFAULT_RATES, ...options.rates };
  const started = Date.now();
  const { records, ...sim } = await runScenario(
    daySpec(options.services, options.seed, rates, options.resyncEveryMs),
    { seed: options.seed, keepRecords: true },
  );
  const tally = tallyRecords(records ?? []);
  const fanout = cloudMapCalls(sim.fanout?.calls);
  return {
    services: options.services,
    resyncEveryMs: options.resyncEveryMs,
    rates,
    sim,
    tally,
    cloudMapCalls: cloudMapCalls(sim.calls.total) + fanout,
    cloudMapCallsResync: cloudMapCalls(tally.callsByTrigger.schedule) + fanout,
    wallMs: Date.now() - started,
  };
}

function cloudMapCalls(calls: Partial<Record<ApiName, number>> | undefined): number {
  return (calls?.['cloudmap.DiscoverInstances'] ?? 0) + (calls?.['cloudmap.GetService'] ?? 0);
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
