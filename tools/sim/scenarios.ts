import type { Cluster } from './cluster';
import type { FollowSpec } from './follow';
import { CALM_KNOBS, type ChaosKnobs, withKnobs } from './knobs';
import type { Rng } from './rng';

/** What a scenario's plan can do: schedule world actions at virtual times (ms from the start). */
export interface PlanContext {
  cluster: Cluster;
  rng: Rng;
  /** ECS services that back registry entries (the first is the built-in `/airegistry-tools/`). */
  services: string[];
  /** The registry's own ECS service. */
  registryService: string;
  at(ms: number, action: () => void): void;
}

export interface ScenarioSpec {
  name: string;
  description: string;
  /** Services backing registry entries (the built-in one included): a count or a range. */
  services: number | readonly [number, number];
  tasksPerService: readonly [number, number];
  registryTasks: readonly [number, number];
  /** The window in which the plan acts; the run goes on until quiet plus one resync. */
  activityMs: number;
  knobs: ChaosKnobs;
  /**
   * Which entries name their ECS service in the config: `mixed` (two in three; the others are
   * found by DescribeServices) or `all` (the advice at scale: DescribeServices shares a 20/s limit).
   */
  namedTargets?: 'mixed' | 'all';
  /** An entry whose registry writes fail with 5xx for the whole run. */
  stuckPath?: string;
  /**
   * Follow mode (tools/sim/follow.ts): the configuration lists no targets; the entries are
   * registered at run time, by name, by hand or with foreign hosts, and some re-pointed by a person.
   */
  follow?: FollowSpec;
  plan(ctx: PlanContext): void;
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Delivery as deployed: per-entry message groups behind the fan-out. */
const DEPLOYED_KNOBS: ChaosKnobs = CALM_KNOBS;

/** Every chaos knob on. */
export const CHAOS_KNOBS: ChaosKnobs = withKnobs(DEPLOYED_KNOBS, {
  eventBridge: {
    reorderJitterMs: 5_000,
    delayRate: 0.05,
    delayMaxMs: 60_000,
    duplicateRate: 0.1,
    identicalDuplicateShare: 0.5,
    lossRate: 0.03,
  },
  registry: { errorRate: 0.05, timeoutRate: 0.02, lateLandRate: 0.5, disableAfterWrite: true },
  aws: { throttleBurstsPerHour: 12, throttleBurstSize: [2, 6] },
  cloudMap: { registrationLag: [500, 20_000], deregistrationLag: [0, 10_000] },
});

/** Random times in [from, to), about `perHour` an hour (a Poisson process). */
function poisson(rng: Rng, perHour: number, from: number, to: number): number[] {
  const out: number[] = [];
  if (perHour <= 0) return out;
  let t = from;
  for (;;) {
    t += -Math.log(1 - rng.next()) * (HOUR / perHour);
    if (t >= to) return out;
    out.push(Math.round(t));
  }
}

/** Background life of a cluster: deployments, crashes, scaling and registry restarts at random times. */
function everyday(
  ctx: PlanContext,
  rates: { deploys: number; crashes: number; scales: number; registryRestarts: number },
  until: number,
): void {
  const { rng, cluster, services } = ctx;
  for (const t of poisson(rng, rates.deploys, 0, until)) ctx.at(t, () => cluster.deploy(rng.pick(services)));
  for (const t of poisson(rng, rates.crashes, 0, until))
    ctx.at(t, () => cluster.crashOne(rng.pick(services)));
  for (const t of poisson(rng, rates.scales, 0, until)) {
    const svc = rng.pick(services);
    const out = rng.chance(0.5);
    const n = rng.int(1, 2);
    ctx.at(t, () => {
      const active = cluster.active(svc).length;
      if (out && active + n <= 4) cluster.scaleOut(svc, n);
      else cluster.scaleIn(svc, n);
    });
  }
  for (const t of poisson(rng, rates.registryRestarts, 0, until)) {
    ctx.at(t, () =>
      rng.chance(0.7) ? cluster.deploy(ctx.registryService) : cluster.crashOne(ctx.registryService),
    );
  }
}

export const SCENARIOS: Record<string, ScenarioSpec> = {
  'calm-day': {
    name: 'calm-day',
    description:
      'A day of occasional deployments, crashes and scaling on 5–10 services; one or two registry restarts; delivery as deployed (per-entry message groups) with rare duplicates and small delays.',
    services: [5, 10],
    tasksPerService: [1, 4],
    registryTasks: [1, 2],
    activityMs: 24 * HOUR,
    knobs: withKnobs(DEPLOYED_KNOBS, {
      eventBridge: { duplicateRate: 0.01, reorderJitterMs: 2_000, delayRate: 0.005, delayMaxMs: 30_000 },
      registry: { errorRate: 0.005, timeoutRate: 0.002, lateLandRate: 0.5 },
    }),
    plan: (ctx) =>
      everyday(ctx, { deploys: 1.5, crashes: 0.4, scales: 0.5, registryRestarts: 1 / 16 }, 24 * HOUR),
  },
  'deployment-storm': {
    name: 'deployment-storm',
    description:
      '50 services, 1–4 tasks each, all start a rolling deployment within 30 seconds; delivery as deployed.',
    services: 50,
    tasksPerService: [1, 4],
    registryTasks: [2, 2],
    activityMs: 30_000,
    knobs: DEPLOYED_KNOBS,
    plan: (ctx) => {
      for (const svc of ctx.services) ctx.at(ctx.rng.int(0, 30_000), () => ctx.cluster.deploy(svc));
    },
  },
  'chaos-storm': {
    name: 'chaos-storm',
    description:
      'Two busy hours on 20 services with every chaos knob on: duplicates, reordering, late and lost events, registry 5xx/timeouts (some writes land late), throttling, long Cloud Map lag, a registry that disables servers after writes, registry restarts.',
    services: 20,
    tasksPerService: [1, 4],
    registryTasks: [1, 2],
    activityMs: 2 * HOUR,
    knobs: CHAOS_KNOBS,
    plan: (ctx) => everyday(ctx, { deploys: 30, crashes: 10, scales: 8, registryRestarts: 1.5 }, 2 * HOUR),
  },
  'registry-restart-during-deploy': {
    name: 'registry-restart-during-deploy',
    description:
      'Nine services deploy while the registry itself is redeployed: its new tasks reset the built-in /airegistry-tools/ when they boot, after ECS reports them RUNNING.',
    services: 10,
    tasksPerService: [1, 3],
    registryTasks: [2, 2],
    activityMs: 60_000,
    knobs: DEPLOYED_KNOBS,
    plan: (ctx) => {
      // The built-in entry's own service (mcpgw) is left alone: its pointer is put back only by
      // the reconciler's answer to the registry's restart, not by a deployment of its own.
      for (const svc of ctx.services.slice(1)) ctx.at(ctx.rng.int(0, 60_000), () => ctx.cluster.deploy(svc));
      ctx.at(ctx.rng.int(10_000, 40_000), () => ctx.cluster.deploy(ctx.registryService));
    },
  },
};

const stormPlan = (windowMs: number) => (ctx: PlanContext) => {
  for (const svc of ctx.services) ctx.at(ctx.rng.int(0, windowMs), () => ctx.cluster.deploy(svc));
};

SCENARIOS['storm-1000'] = {
  name: 'storm-1000',
  description:
    '1,000 services, 1–4 tasks each, all start a rolling deployment within 60 seconds; delivery as deployed.',
  services: 1_000,
  tasksPerService: [1, 4],
  registryTasks: [2, 2],
  activityMs: 60_000,
  namedTargets: 'all',
  knobs: DEPLOYED_KNOBS,
  plan: stormPlan(60_000),
};
SCENARIOS['fleet-10000'] = {
  name: 'fleet-10000',
  description:
    '10,000 services over one hour: scheduled resyncs, occasional deployments, crashes and scaling, a registry task crash; the published API rate limits as token buckets.',
  services: 10_000,
  tasksPerService: [1, 3],
  registryTasks: [2, 2],
  activityMs: HOUR,
  namedTargets: 'all',
  knobs: DEPLOYED_KNOBS,
  plan: (ctx) => {
    everyday(ctx, { deploys: 120, crashes: 40, scales: 20, registryRestarts: 0 }, HOUR);
    ctx.at(30 * MIN, () => ctx.cluster.crashOne(ctx.registryService));
  },
};
SCENARIOS['stuck-target'] = {
  ...(SCENARIOS['calm-day'] as ScenarioSpec),
  name: 'stuck-target',
  description:
    'The calm day, plus one entry whose registry writes fail with 5xx for the whole run: only its own messages are retried and dead-lettered.',
  stuckPath: '/svc01/',
  plan: (ctx) => {
    everyday(ctx, { deploys: 1.5, crashes: 0.4, scales: 0.5, registryRestarts: 1 / 16 }, 24 * HOUR);
    // The stuck entry's own service changes, so it needs writes that keep failing.
    for (let h = 1; h < 24; h += 3) ctx.at(h * HOUR, () => ctx.cluster.deploy(ctx.services[1] as string));
  },
};
SCENARIOS['registry-crash'] = {
  name: 'registry-crash',
  description:
    'Registry tasks crash (not deployments) six times over two hours while 20 services deploy, crash and scale: each new registry task resets the built-in entries after it boots.',
  services: 20,
  tasksPerService: [1, 4],
  registryTasks: [1, 2],
  activityMs: 2 * HOUR,
  knobs: DEPLOYED_KNOBS,
  plan: (ctx) => {
    everyday(ctx, { deploys: 10, crashes: 4, scales: 3, registryRestarts: 0 }, 2 * HOUR);
    for (let i = 0; i < 6; i++)
      ctx.at(ctx.rng.int(i * 20 * MIN, (i + 1) * 20 * MIN), () => ctx.cluster.crashOne(ctx.registryService));
  },
};

/** Follow mode's mix: a tenth of the entries set by hand, a twentieth foreign, a twentieth re-pointed after adoption. */
export const FOLLOW_MIX: FollowSpec = {
  atStartShare: 0.2,
  registerWithinMs: 45 * MIN,
  handSetShare: 0.1,
  foreignShare: 0.05,
  unadoptableShare: 0.05,
  repointShare: 0.05,
  repointAfterMs: [MIN, 20 * MIN],
};

SCENARIOS['follow-1000'] = {
  name: 'follow-1000',
  description:
    'Follow mode, no targets configured: 1,000 services; a fifth of the entries registered by name before the start, the rest over 45 min while services deploy, crash and scale; a tenth set by hand to a task IP, a twentieth foreign, a twentieth by a name no Cloud Map service has, a twentieth re-pointed by a person after adoption.',
  services: 1_000,
  tasksPerService: [1, 3],
  registryTasks: [2, 2],
  activityMs: HOUR,
  knobs: DEPLOYED_KNOBS,
  follow: FOLLOW_MIX,
  plan: (ctx) => everyday(ctx, { deploys: 60, crashes: 20, scales: 10, registryRestarts: 0 }, HOUR),
};
SCENARIOS['follow-200'] = {
  ...(SCENARIOS['follow-1000'] as ScenarioSpec),
  name: 'follow-200',
  description: 'Follow mode as follow-1000 at 200 services.',
  services: 200,
  plan: (ctx) => everyday(ctx, { deploys: 12, crashes: 4, scales: 2, registryRestarts: 0 }, HOUR),
};
SCENARIOS['follow-10000'] = {
  ...(SCENARIOS['follow-1000'] as ScenarioSpec),
  name: 'follow-10000',
  description:
    'Follow mode as follow-1000 at 10,000 services (the churn of fleet-10000, and a registry task crash at 30 min).',
  services: 10_000,
  plan: (ctx) => {
    everyday(ctx, { deploys: 120, crashes: 40, scales: 20, registryRestarts: 0 }, HOUR);
    ctx.at(30 * MIN, () => ctx.cluster.crashOne(ctx.registryService));
  },
};

/** Steady state: every entry registered before the start, those by name adopted before it too. */
const FOLLOW_STEADY: FollowSpec = { ...FOLLOW_MIX, atStartShare: 1, adoptedAtStart: true };

SCENARIOS['follow-steady-1000'] = {
  ...(SCENARIOS['follow-1000'] as ScenarioSpec),
  name: 'follow-steady-1000',
  description:
    'Follow mode in its steady state at 1,000 services: every entry registered before the start and those by name already owned (table rows), a tenth hand-set, a twentieth foreign, a twentieth re-pointed by a person during the hour of churn.',
  follow: FOLLOW_STEADY,
};
SCENARIOS['follow-steady-10000'] = {
  ...(SCENARIOS['follow-10000'] as ScenarioSpec),
  name: 'follow-steady-10000',
  description:
    'Follow mode in its steady state as follow-steady-1000, at 10,000 services with the churn of fleet-10000 (no registry restart).',
  follow: FOLLOW_STEADY,
  plan: (ctx) => everyday(ctx, { deploys: 120, crashes: 40, scales: 20, registryRestarts: 0 }, HOUR),
};
SCENARIOS['follow-steady-10000-registry-crash'] = {
  ...(SCENARIOS['follow-10000'] as ScenarioSpec),
  name: 'follow-steady-10000-registry-crash',
  description:
    'follow-steady-10000 plus a registry task crash at 30 min: the new task resets /airegistry-tools/ to its Cloud Map name.',
  follow: FOLLOW_STEADY,
};

export const SCENARIO_NAMES = Object.keys(SCENARIOS);
