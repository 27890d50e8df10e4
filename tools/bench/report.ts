import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { ApiName } from '../../functions/reconciler/ports';
import { BASELINE_ENTRY, bundle, LAMBDA_BUNDLING, LAMBDA_ENTRY, ROOT } from '../build';
import { CALM_KNOBS } from '../sim/knobs';
import { type ColdProbe, type ColdStartSeries, measureColdStart } from './coldstart';
import {
  calmDeployedKnobs,
  type DayRates,
  type DayResult,
  DEFAULT_RATES,
  type PollingModel,
  pollingModel,
  runDay,
} from './day';
import { type HttpClientSeries, measureHttpClients } from './http-client';
import { measurePaths, type PathCalls, startInvocationWorld } from './invocation';
import { type RunInfo, runInfo } from './machine';
import { LAMBDA_NODE_MAJOR, localNode, type NodeRuntime, nodeOfMajor } from './node-runtime';
import {
  chooseMemory,
  LAMBDA_ARM64_PRICE,
  MAX_COLD_START_MS,
  MAX_PEAK_SHARE,
  ONE_VCPU_MB,
  type SizeOption,
} from './sizing';
import { REPORTED_APIS, runStorm, type StormResult } from './storm';
import { measureWarm, type WarmResult } from './warm';

/** What a benchmark run does. `quick` sizes are for tests; the defaults are the published report. */
export interface BenchOptions {
  seed: number;
  /** Fresh processes per bundle for the cold start (0 skips it). */
  coldRuns: number;
  coldWarmup: number;
  warmServices: number;
  warmEvents: number;
  warmWarmup: number;
  stormServices: number;
  /** Fleet sizes for the day against the polling design. */
  fleets: number[];
  /** The deployed resync period, and the longer one shown beside it. */
  resyncMs: number;
  altResyncMs: number;
  /** Also run the storm through one FIFO message group (the design before per-entry delivery). */
  singleGroup: boolean;
  /** Where the benchmark's bundles go (under dist/, which is gitignored). */
  outdir: string;
  /** Also run the cold-start series on the Lambda runtime's Node major (fetched into a cache on first use). */
  runtimeNode: boolean;
  /** Warm invocations (one event each) after the first, in each cold process of the reconciler. */
  invokeWarm: number;
  /** Fresh processes per client and Node for fetch against node:http (0 skips it). */
  httpRuns: number;
  /** Run the bundle once per delivery path (move, no-op, resync, Cloud Map lag) and count its calls. */
  paths: boolean;
  /** The machine's name in the report. */
  machine?: string;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  seed: 1,
  coldRuns: 25,
  coldWarmup: 3,
  warmServices: 50,
  warmEvents: 5_000,
  warmWarmup: 500,
  stormServices: 50,
  fleets: [10, 100, 1_000],
  resyncMs: 300_000,
  altResyncMs: 3_600_000,
  singleGroup: true,
  outdir: 'dist/bench',
  runtimeNode: true,
  invokeWarm: 20,
  httpRuns: 10,
  paths: true,
};

export const QUICK_OPTIONS: Partial<BenchOptions> = {
  coldRuns: 0,
  warmServices: 5,
  warmEvents: 200,
  warmWarmup: 50,
  stormServices: 5,
  fleets: [3, 10],
  singleGroup: false,
  runtimeNode: false,
  invokeWarm: 3,
  httpRuns: 0,
  paths: false,
};

export interface BundleFigures {
  entry: string;
  file: string;
  bytes: number;
  top: { name: string; bytes: number }[];
}

export interface Verdict {
  target: string;
  measured: string;
  pass: boolean;
}

/** The memory size chosen from the measured peak, and what a million events cost. */
export interface MemoryFigures {
  node: string;
  /** The highest peak RSS of any cold process (first invocation and its warm ones), in MB. */
  peakRssMb: number;
  /** Per warm event: CPU time on one full core of this machine (measured) and waits (assumed). */
  event: { cpuMs: number; waitMs: number };
  /** CPU time of init plus the first invocation on one full core (medians), in ms. */
  coldCpuMs: number;
  options: SizeOption[];
  chosen: SizeOption | undefined;
}

/**
 * Assumed waits of a warm event on the network (no write), for the memory size and cost: one
 * DiscoverInstances, one DescribeTasks and one registry read at these latencies.
 */
export const ASSUMED_EVENT_CALL_MS = {
  'cloudmap.DiscoverInstances': 20,
  'ecs.DescribeTasks': 40,
  'registry.read': 50,
} as const;

export function assumedEventWaitMs(): number {
  return Object.values(ASSUMED_EVENT_CALL_MS).reduce((a, b) => a + b, 0);
}

export interface AlternativeRow {
  services: number;
  reconciler: DayResult;
  reconcilerAltResync: DayResult;
  polling: PollingModel[];
}

export interface BenchReport {
  run: RunInfo;
  options: BenchOptions;
  bundle: { options: typeof LAMBDA_BUNDLING; lambda: BundleFigures; baseline: BundleFigures };
  /** The Node binaries of the fresh processes: the local one, and the runtime's major. */
  nodes: NodeRuntime[];
  coldStart:
    | { runs: number; warmup: number; series: ColdStartSeries[]; loadBefore: number[]; loadAfter: number[] }
    | { skipped: string };
  memory: MemoryFigures | { skipped: string };
  http: HttpClientSeries[] | { skipped: string };
  paths: PathCalls[] | { skipped: string };
  warm: WarmResult;
  /** The deployment storm as deployed, and (unless skipped) through one message group. */
  storm: { deployed: StormResult; singleGroup: StormResult | { skipped: string } };
  alternative: { rates: DayRates; pollingIntervalS: number; rows: AlternativeRow[] };
  assumptions: string[];
  verdicts: Verdict[];
}

/** Runs every benchmark. `log` gets progress lines (stderr in the CLI). */
export async function runBench(
  partial: Partial<BenchOptions> = {},
  log: (line: string) => void = () => undefined,
): Promise<BenchReport> {
  const options = { ...DEFAULT_OPTIONS, ...partial };
  const run = await runInfo(options.machine);

  log('bundling the Lambda and the baseline');
  const lambdaBuild = await bundle(LAMBDA_ENTRY, join(options.outdir, 'lambda'));
  const baselineBuild = await bundle(BASELINE_ENTRY, join(options.outdir, 'baseline'));
  const figures = (entry: string, b: typeof lambdaBuild): BundleFigures => ({
    entry,
    file: b.outfile.slice(ROOT.length + 1),
    bytes: b.bytes,
    top: b.byPackage.slice(0, 6),
  });

  const nodes: NodeRuntime[] = [localNode()];
  if (options.runtimeNode) {
    const runtime = await nodeOfMajor(LAMBDA_NODE_MAJOR, { log });
    if (runtime.execPath !== nodes[0]?.execPath) nodes.push(runtime);
  }
  // The runtime's Node first: it is the one the targets are judged on.
  nodes.reverse();

  let coldStart: BenchReport['coldStart'] = { skipped: 'coldRuns is 0' };
  let paths: BenchReport['paths'] = { skipped: 'not run (paths false)' };
  const world = options.coldRuns > 0 || options.paths ? await startInvocationWorld() : undefined;
  try {
    if (options.coldRuns > 0 && world !== undefined) {
      log(
        `cold start: ${options.coldRuns} fresh processes per bundle and Node (${nodes.map((n) => n.version).join(', ')}; +${options.coldWarmup} discarded)`,
      );
      const eventsFile = world.eventsFile('cold', [
        [world.taskRecord(0, 1)],
        ...Array.from({ length: options.invokeWarm }, (_, i) => [world.taskRecord(i, 100 + i)]),
      ]);
      const probes: ColdProbe[] = nodes.flatMap((node) => [
        { name: 'baseline (Logger only)', node, bundle: baselineBuild.outfile },
        {
          name: 'reconciler',
          node,
          bundle: lambdaBuild.outfile,
          invoke: { eventsFile, env: world.env, before: world.reset },
        },
        {
          name: 'reconciler, NODE_OPTIONS=--enable-source-maps (as deployed)',
          node,
          bundle: lambdaBuild.outfile,
          nodeOptions: '--enable-source-maps',
        },
      ]);
      const loadBefore = loadavg();
      coldStart = {
        runs: options.coldRuns,
        warmup: options.coldWarmup,
        loadBefore,
        loadAfter: [],
        series: await measureColdStart(probes, { runs: options.coldRuns, warmup: options.coldWarmup }),
      };
      coldStart.loadAfter = loadavg();
    }
    if (options.paths && world !== undefined) {
      log('delivery paths: move, no-op, resync, Cloud Map lag (the lag delivery waits its look-up loop out)');
      paths = await measurePaths(world, nodes[0]?.execPath ?? process.execPath, lambdaBuild.outfile);
    }
  } finally {
    await world?.close();
  }

  let memory: BenchReport['memory'] = { skipped: 'no cold start measured' };
  const runtimeSeries =
    'series' in coldStart ? coldStart.series.find((x) => x.invocation !== undefined) : undefined;
  if (runtimeSeries?.invocation !== undefined) {
    const peakRssMb = runtimeSeries.invocation.peakRssMb.max;
    const event = { cpuMs: runtimeSeries.invocation.warmCpuMs.median, waitMs: assumedEventWaitMs() };
    const coldCpuMs = runtimeSeries.cpuMs.median + runtimeSeries.invocation.firstCpuMs.median;
    memory = {
      node: runtimeSeries.node,
      peakRssMb,
      event,
      coldCpuMs,
      ...chooseMemory(peakRssMb, event, coldCpuMs),
    };
  }

  let http: BenchReport['http'] = { skipped: 'httpRuns is 0' };
  if (options.httpRuns > 0) {
    log(`fetch against node:http: ${options.httpRuns} fresh processes per client and Node`);
    http = await measureHttpClients(nodes, { runs: options.httpRuns, warm: 50 });
  }

  log(`warm handling: ${options.warmEvents} work messages on ${options.warmServices} services`);
  const warm = await measureWarm({
    services: options.warmServices,
    seed: options.seed,
    events: options.warmEvents,
    warmup: options.warmWarmup,
  });

  log(`deployment storm (tools/sim deployment-storm, as deployed): ${options.stormServices} services`);
  const deployed = await runStorm({ services: options.stormServices, seed: options.seed });
  let singleGroup: StormResult | { skipped: string } = { skipped: 'not run (singleGroup false)' };
  if (options.singleGroup) {
    log(`deployment storm through one message group: ${options.stormServices} services`);
    singleGroup = await runStorm({
      services: options.stormServices,
      seed: options.seed,
      scenario: 'deployment-storm-single-group',
    });
  }

  const rows: AlternativeRow[] = [];
  for (const services of options.fleets) {
    log(`simulated day: ${services} services`);
    const reconciler = await runDay({ services, seed: options.seed, resyncEveryMs: options.resyncMs });
    const reconcilerAltResync = await runDay({
      services,
      seed: options.seed,
      resyncEveryMs: options.altResyncMs,
    });
    rows.push({
      services,
      reconciler,
      reconcilerAltResync,
      polling: [1, 2, 4].map((r) => pollingModel(services, r)),
    });
  }

  const report: Omit<BenchReport, 'verdicts'> = {
    run,
    options,
    bundle: {
      options: LAMBDA_BUNDLING,
      lambda: figures(LAMBDA_ENTRY, lambdaBuild),
      baseline: figures(BASELINE_ENTRY, baselineBuild),
    },
    nodes,
    coldStart,
    memory,
    http,
    paths,
    warm,
    storm: { deployed, singleGroup },
    alternative: { rates: DEFAULT_RATES, pollingIntervalS: 300, rows },
    assumptions: assumptions(options),
  };
  return { ...report, verdicts: verdicts(report) };
}

function assumptions(o: BenchOptions): string[] {
  const k = calmDeployedKnobs(o.resyncMs);
  const r = DEFAULT_RATES;
  const l = k.lifecycle;
  const s = (range: readonly [number, number]) => `${range[0] / 1000}–${range[1] / 1000} s`;
  const msr = (range: readonly [number, number]) => `${range[0]}–${range[1]} ms`;
  return [
    `One simulated deployment: the storm and the days are tools/sim scenarios (\`runScenario\`), which run the deployed handler against the simulation's ECS cluster, Cloud Map, EventBridge, queues and registry on a virtual clock, with its calm settings (no duplicates, loss, reordering, registry faults or throttling bursts).`,
    `Fleets: services of 1–4 tasks (seeded, seed ${o.seed}), one registry entry each (every fifth an agent), every entry naming its ECS service; entries start pointing at a live task. Registry service: 2 tasks; the first entry is the built-in \`/airegistry-tools/\`, which each new registry task resets ${s(k.registry.bootMs)} after it is RUNNING.`,
    `Day rates: ${r.deploysPerService} rolling deployment per service, ${r.crashesPerTask} crashes per task, ${r.scaleOutsPerService} scale-out per service (scale-in 1–4 h later), ${r.registryRestarts} registry deployment; Poisson counts at uniform times, the same in both resync columns. Resync every ${o.resyncMs / 60_000} min (deployed), and every ${o.altResyncMs / 60_000} min beside it.`,
    `ECS lifecycle (tools/sim/cluster.ts): PROVISIONING → PENDING ${s(l.provision)} → ACTIVATING ${s(l.pending)} → RUNNING ${s(l.activating)}; a deployment stops an old task once a new one is healthy (${s(l.healthy)} after RUNNING); stop: desired STOPPED → DEACTIVATING ${s(l.deactivate)} → STOPPING ${s(l.drain)} → DEPROVISIONING ${s(l.stop)} → STOPPED ${s(l.deprovision)}; a crash is replaced after ${s(l.replace)}. Cloud Map lists a task ${s(k.cloudMap.registrationLag)} after ACTIVATING and stops listing it ${s(k.cloudMap.deregistrationLag)} after its stop signal.`,
    `Delivery as deployed (per-entry): EventBridge ${msr(k.eventBridge.latencyMs)} → trigger queue → fan-out → SQS FIFO work queue with one message group per entry, batches ≤ ${k.lambda.batchSize}, at most ${k.lambda.maxConcurrency} concurrent invocations (cold start ${msr(k.lambda.coldStartMs)}), function timeout ${k.lambda.timeoutMs / 1000} s; a message handed back (Cloud Map lag, error) gets its own visibility and holds back only its entry. The single-group storm: one message group, one invocation at a time, visibility timeout ${CALM_KNOBS.lambda.visibilityTimeoutMs / 1000} s, in-invocation retries after ${CALM_KNOBS.lambda.retryDelaysMs.join(' and ')} ms. ECS and Cloud Map calls within the published rate limits (token buckets, tools/sim/limits.ts).`,
    `Latencies (virtual): ECS and Cloud Map ${msr(k.aws.latencyMs)} per call, registry read ${msr(k.registry.readMs)}, write ${msr(k.registry.writeMs)}. They shape stale times and batching, not call counts.`,
    'Stale address (tools/sim/measures.ts): an entry names a task that is not live (RUNNING with desired RUNNING) while a live task of its service exists; it ends when a write lands or the pointed task is live again.',
    'Polling (Option 4, analytical): every registry task health-checks every server every 300 s and looks it up in Cloud Map each time: services × registry tasks × 288 calls/day. A task that goes away is noticed at each registry task’s next check: stale 150 s on average, 300 s at worst (Cloud Map deregistration lag and the check itself not counted, so this favours polling).',
  ];
}

const API_ORDER: ApiName[] = ['cloudmap.DiscoverInstances', 'ecs.DescribeTasks', 'registry.read'];

/** Issue #14's targets. */
export const BUNDLE_MAX_BYTES = 340_000;
export const INIT_MAX_OVER_BASELINE_MS = 35;

/**
 * Init (process start → handler ready, median) of the reconciler against the Logger-only baseline
 * on the runtime's Node major; the first invocation's extra time is reported beside it.
 */
export function initVerdict(series: ColdStartSeries[], major: number, note = ''): Verdict {
  const onMajor = series.filter((x) => x.node.startsWith(`v${major}.`));
  const base = onMajor.find((x) => x.name.startsWith('baseline'));
  const lambda = onMajor.find((x) => x.name === 'reconciler');
  const target = `Init within ${INIT_MAX_OVER_BASELINE_MS} ms of the Logger-only baseline on Node ${major} (median)`;
  if (base === undefined || lambda === undefined)
    return { target, measured: `not measured on Node ${major}`, pass: false };
  const delta = lambda.readyMs.median - base.readyMs.median;
  const first = lambda.invocation?.firstMs.median;
  return {
    target,
    measured: `+${ms(delta)} on ${lambda.node} (${ms(lambda.readyMs.median)} vs ${ms(base.readyMs.median)}; CPU time +${ms(lambda.cpuMs.median - base.cpuMs.median)})${first === undefined ? '' : `; first invocation +${ms(first)} more`}${note}`,
    pass: delta <= INIT_MAX_OVER_BASELINE_MS,
  };
}

/** At most one look-up round (one DiscoverInstances, one DescribeTasks) per target per delivery, on every path. */
export function lookupVerdict(paths: PathCalls[]): Verdict {
  const per = paths.map((p) => ({
    path: p.path,
    discover: p.lookups.discoverInstances / Math.max(1, p.targets),
    describe: p.lookups.describeTasks / Math.max(1, p.targets),
  }));
  return {
    target:
      '≤ 1 look-up round (1 DiscoverInstances, 1 DescribeTasks) per target per delivery, every path incl. Cloud Map lag',
    measured: per.map((p) => `${p.path} ${fmt(p.discover)} / ${fmt(p.describe)}`).join('; '),
    // Every path reconciles at least one target: a delivery that looked nothing up did not run.
    pass: paths.length > 0 && per.every((p) => p.discover >= 1 && p.discover <= 1 && p.describe <= 1),
  };
}

function stormName(st: StormResult): string {
  return `${st.scenario} (${st.design}${st.counterfactual ? ', counterfactual, not judged' : ''})`;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function verdicts(r: Omit<BenchReport, 'verdicts'>): Verdict[] {
  const out: Verdict[] = [];
  const bytes = r.bundle.lambda.bytes;
  out.push({
    target: `Bundle ≤ ${kb(BUNDLE_MAX_BYTES)} minified`,
    measured: `${kb(bytes)} (baseline ${kb(r.bundle.baseline.bytes)})`,
    pass: bytes <= BUNDLE_MAX_BYTES,
  });
  if ('series' in r.coldStart) {
    const load = Math.max(...r.coldStart.loadBefore, ...r.coldStart.loadAfter);
    const busy = load > r.run.cores ? `; machine busy: load ${load.toFixed(1)} on ${r.run.cores} cores` : '';
    out.push(initVerdict(r.coldStart.series, LAMBDA_NODE_MAJOR, busy));
  }
  if (Array.isArray(r.paths)) out.push(lookupVerdict(r.paths));
  // Judged on the deployed design; the single-group counterfactual is shown beside it, not judged.
  const storms = [r.storm.deployed, ...('skipped' in r.storm.singleGroup ? [] : [r.storm.singleGroup])].map(
    (st) => ({
      name: stormName(st),
      judged: !st.counterfactual,
      max: st.tally.maxPerRecord,
      writes: st.sim.writes.landed,
      moves: st.sim.writes.movesNeeded,
      same: st.sim.violations.sameValueWrites,
    }),
  );
  const judged = storms.filter((s) => s.judged);
  const dayMax: Partial<Record<ApiName, number>> = {};
  for (const row of r.alternative.rows)
    for (const api of API_ORDER)
      dayMax[api] = Math.max(dayMax[api] ?? 0, row.reconciler.tally.maxPerRecord[api] ?? 0);
  out.push({
    target:
      '≤ 1 Cloud Map, 1 ECS, 1 registry read per reconciled entry per delivery in the storm (simulation, calm settings)',
    measured: `${storms
      .map((s) => `${s.name}: max ${API_ORDER.map((api) => s.max[api] ?? 0).join(' / ')}`)
      .join(
        '; ',
      )} (simulated days, all triggers: max ${API_ORDER.map((api) => dayMax[api] ?? 0).join(' / ')})`,
    pass: judged.length > 0 && judged.every((s) => API_ORDER.every((api) => (s.max[api] ?? 0) <= 1)),
  });
  out.push({
    target: 'A write only when the address changes (writes = pointer moves needed)',
    measured: storms
      .map((s) => `${s.name}: ${s.writes} writes, ${s.moves} moves, ${s.same} same-value`)
      .join('; '),
    pass: judged.length > 0 && judged.every((s) => s.same === 0 && s.writes <= s.moves),
  });
  const b = r.storm.deployed.tally;
  out.push({
    target: 'Bursts for the same entry coalesced (deployed storm)',
    measured: `${b.coalescedTriggers} triggers → ${b.records} reconciles (${(b.coalescedTriggers / Math.max(1, b.records)).toFixed(2)} per reconcile)`,
    pass: b.coalescedTriggers > b.records,
  });
  const rows = r.alternative.rows;
  out.push({
    target: 'Fewer Cloud Map calls/day than polling, every fleet size (polling with 1 registry task)',
    measured: rows
      .map(
        (row) =>
          `${row.services}: ${int(row.reconciler.cloudMapCalls)} vs ${int(row.polling[0]?.cloudMapCallsPerDay ?? 0)}`,
      )
      .join('; '),
    pass: rows.every((row) => row.reconciler.cloudMapCalls < (row.polling[0]?.cloudMapCallsPerDay ?? 0)),
  });
  out.push({
    target: 'Fewer Cloud Map calls/day than polling with 4 registry tasks',
    measured: rows
      .map(
        (row) =>
          `${row.services}: ${int(row.reconciler.cloudMapCalls)} vs ${int(row.polling.at(-1)?.cloudMapCallsPerDay ?? 0)}`,
      )
      .join('; '),
    pass: rows.every((row) => row.reconciler.cloudMapCalls < (row.polling.at(-1)?.cloudMapCallsPerDay ?? 0)),
  });
  out.push({
    target: 'Shorter stale-address time than polling (median < 150 s and worst < 300 s)',
    measured: rows
      .map(
        (row) =>
          `${row.services}: p50 ${sec(row.reconciler.sim.stale.p50Ms)}, max ${sec(row.reconciler.sim.stale.maxMs)}`,
      )
      .join('; '),
    pass: rows.every(
      (row) =>
        row.reconciler.sim.final.bad.length === 0 &&
        (row.reconciler.sim.stale.count === 0 ||
          (row.reconciler.sim.stale.p50Ms < 150_000 && row.reconciler.sim.stale.maxMs < 300_000)),
    ),
  });
  return out;
}

// ---- rendering ----

export function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} KB`;
}

function ms(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v < 1 ? `${v.toFixed(3)} ms` : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`;
}

function mb(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)} MB` : 'n/a';
}

function sec(v: number): string {
  return Number.isFinite(v) ? `${(v / 1000).toFixed(1)} s` : 'n/a';
}

function int(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

function ratio(n: number, d: number): string {
  return d === 0 ? 'n/a' : (n / d).toFixed(3);
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The report as markdown. */
export function renderMarkdown(r: BenchReport): string {
  const out: string[] = [];
  const m = r.run;
  out.push('## Benchmarks');
  out.push('');
  out.push(
    `Machine: ${m.machine} (${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}); Node ${r.nodes.map((n) => n.version).join(' and ')} (tools on ${m.node}); esbuild ${m.esbuild}.  \n` +
      `Run: ${m.date}, commit ${m.commit}${m.dirtyFiles > 0 ? ` (+${m.dirtyFiles} uncommitted files)` : ''}, seed ${r.options.seed}; load average at start ${m.loadAverage.join(' / ')} (1/5/15 min).`,
  );
  out.push('');
  out.push('### Targets');
  out.push('');
  out.push(
    table(
      ['Target', 'Measured', 'Result'],
      r.verdicts.map((v) => [v.target, v.measured, v.pass ? 'PASS' : 'FAIL']),
    ),
  );
  out.push('');

  out.push('### 1. Bundle');
  out.push('');
  const o = r.bundle.options;
  out.push(
    `esbuild ${o.format}, platform ${o.platform}, target ${o.target}, minify, sourcemap ${o.sourcemap}, mainFields ${o.mainFields.join(',')}, nothing external.`,
  );
  out.push('');
  out.push(
    table(
      ['Bundle', 'Bytes', 'Largest parts'],
      [r.bundle.lambda, r.bundle.baseline].map((b) => [
        `\`${b.entry}\``,
        `${int(b.bytes)} (${kb(b.bytes)})`,
        b.top.map((p) => `${p.name} ${kb(p.bytes)}`).join(', '),
      ]),
    ),
  );
  out.push('');

  out.push('### 2. Cold start, first invocation, memory (fresh processes, bundled handler)');
  out.push('');
  if ('series' in r.coldStart) {
    out.push(
      `${r.coldStart.runs} fresh processes per row, rows interleaved, after ${r.coldStart.warmup} discarded rounds; Node binaries: ${r.nodes.map((n) => `${n.version} (${n.source})`).join(', ')}. "Init" is \`performance.now()\` in the process (it counts from the process's start) once \`import()\` of the bundle (clients built at module scope) returned. The reconciler rows then invoke the handler: first one RUNNING event whose entry must move (Secrets Manager, Keycloak token, registry read, DiscoverInstances, DescribeTasks, write, read-back), then ${r.options.invokeWarm} warm events of one each (mostly no-ops), against loopback stand-ins: tools/local-registry (with its Keycloak token endpoint) and an in-process fake of ECS, Cloud Map and Secrets Manager (tools/bench/aws-standin.ts), real Logger (INFO, as deployed) and Metrics (EMF) writing to stdout. Peak RSS is \`process.resourceUsage().maxRSS\`. The load-only rows use closed loopback ports. Load average ${r.coldStart.loadBefore.map((l) => l.toFixed(2)).join(' / ')} before, ${r.coldStart.loadAfter.map((l) => l.toFixed(2)).join(' / ')} after.`,
    );
    out.push('');
    out.push(
      table(
        [
          'Node',
          'Bundle',
          'Init: median (p10–p90)',
          'Init CPU',
          'Init + first invocation',
          'First invocation alone (CPU)',
          'Peak RSS: after first / after warm (max)',
          'Warm per event: median / p90 (CPU)',
        ],
        r.coldStart.series.map((x) => {
          const v = x.invocation;
          return [
            x.node,
            x.name,
            `${ms(x.readyMs.median)} (${ms(x.readyMs.p10)}–${ms(x.readyMs.p90)})`,
            ms(x.cpuMs.median),
            v === undefined ? '—' : ms(v.initPlusFirstMs.median),
            v === undefined ? '—' : `${ms(v.firstMs.median)} (${ms(v.firstCpuMs.median)})`,
            v === undefined ? '—' : `${mb(v.firstRssMb.max)} / ${mb(v.peakRssMb.max)}`,
            v === undefined
              ? '—'
              : `${ms(v.warmMs.median)} / ${ms(v.warmMs.p90)} (${ms(v.warmCpuMs.median)})`,
          ];
        }),
      ),
    );
  } else out.push(`Skipped: ${r.coldStart.skipped}.`);
  out.push('');

  out.push('#### Memory size and cost (arm64)');
  out.push('');
  if ('options' in r.memory) {
    const mem = r.memory;
    out.push(
      `Peak RSS ${mb(mem.peakRssMb)} (the highest of any cold process on ${mem.node}). A size fits when the peak is at most ${Math.round(MAX_PEAK_SHARE * 100)}% of it and a cold start stays under ${ms(MAX_COLD_START_MS)}: the measured CPU time of init plus the first invocation (${ms(mem.coldCpuMs)}, medians) scaled by ${ONE_VCPU_MB} MB / size below one vCPU (a cold start is on the path of the first event after every deployment or scale-out). Cost of one million events, one per invocation (batches of 10 cost less), at ${LAMBDA_ARM64_PRICE.perGbSecond} USD per GB-second and ${(LAMBDA_ARM64_PRICE.perRequest * 1e6).toFixed(2)} USD per million requests (${LAMBDA_ARM64_PRICE.source}); cold starts and the free tier left out. Duration per event is modelled: **assumed** waits of ${ms(mem.event.waitMs)} on AWS and the registry (DiscoverInstances, DescribeTasks and a registry read at assumed latencies of ${Object.values(ASSUMED_EVENT_CALL_MS).join(', ')} ms) plus the **measured** warm CPU time per event on this machine (${ms(mem.event.cpuMs)}), scaled by ${ONE_VCPU_MB} MB / size below one vCPU.`,
    );
    out.push('');
    out.push(
      table(
        [
          'Memory',
          'Peak / size',
          'Modelled cold start',
          'Fits',
          'Modelled duration',
          'USD per million events',
          'Chosen',
        ],
        mem.options.map((o) => [
          `${o.memoryMb} MB`,
          `${Math.round(o.peakShare * 100)}%`,
          o.coldStartMs === undefined ? '—' : ms(o.coldStartMs),
          o.fits ? 'yes' : 'no',
          ms(o.durationMs),
          o.costPerMillion.toFixed(2),
          mem.chosen?.memoryMb === o.memoryMb ? '**chosen**' : '',
        ]),
      ),
    );
  } else out.push(`Skipped: ${r.memory.skipped}.`);
  out.push('');

  out.push('#### fetch against node:http (registry and token calls)');
  out.push('');
  if (Array.isArray(r.http)) {
    out.push(
      `Fresh processes per client and Node (${r.http[0]?.firstMs.n ?? 0} each, interleaved): the first request is a form POST like the token call, then 50 JSON GETs on a kept-alive connection, against one loopback server; same deadline (\`AbortSignal.timeout\`) in both.`,
    );
    out.push('');
    out.push(
      table(
        ['Node', 'Client', 'First request: median (p90)', 'Warm request: median (p90)'],
        r.http.map((h) => [
          h.node,
          h.client === 'fetch' ? 'global fetch (undici)' : 'node:http',
          `${ms(h.firstMs.median)} (${ms(h.firstMs.p90)})`,
          `${ms(h.warmMs.median)} (${ms(h.warmMs.p90)})`,
        ]),
      ),
    );
  } else out.push(`Skipped: ${r.http.skipped}.`);
  out.push('');

  out.push('#### Calls of one delivery, by path (bundled handler, loopback stand-ins)');
  out.push('');
  if (Array.isArray(r.paths)) {
    out.push(
      `Each path is one fresh process of the bundle on ${r.nodes[0]?.version ?? process.version} given one SQS message; AWS calls counted by the stand-in, registry calls by the local registry. Counts do not depend on the Node version.`,
    );
    out.push('');
    const apis = [...new Set(r.paths.flatMap((p) => Object.keys(p.calls)))].sort();
    out.push(
      table(
        ['Path', 'Targets', ...apis, 'Delivery time', 'Answer'],
        r.paths.map((p) => [
          `${p.path}: ${p.description}`,
          String(p.targets),
          ...apis.map((api) => String(p.calls[api] ?? 0)),
          ms(p.ms),
          JSON.stringify(p.result),
        ]),
      ),
    );
  } else out.push(`Skipped: ${r.paths.skipped}.`);
  out.push('');

  const w = r.warm;
  out.push(
    '### 3. Per work message (warm, the deployed queue path over the simulated cluster, in-memory World + MemoryRegistry, silent logger, no metrics)',
  );
  out.push('');
  out.push(
    table(
      ['Measure', 'Value'],
      [
        [
          'Work messages timed (one per invocation)',
          `${int(w.perMessage.messages)} after ${int(w.perMessage.warmup)} warm-up, ${w.services} services (${int(w.ecsEvents)} ECS events in the run; the fan-out forwards RUNNING and stopping ones)`,
        ],
        ['Per work message: median / p99', `${ms(w.perMessage.ms.median)} / ${ms(w.perMessage.ms.p99)}`],
        ['Handed back (Cloud Map lag: one look-up round, then a redelivery)', int(w.perMessage.handedBack)],
        [
          'Burst: work messages in batches of 10, back to back',
          `${int(w.burst.messages)} messages, ${int(w.burst.invocations)} invocations, ${ms(w.burst.totalMs)} → **${int(w.burst.messagesPerSecond)} messages/s**`,
        ],
      ],
    ),
  );
  out.push('');

  out.push('### 4. API calls in the deployment storm');
  out.push('');
  const d = r.storm.deployed;
  const g = 'skipped' in r.storm.singleGroup ? undefined : r.storm.singleGroup;
  const fan = d.sim.fanout;
  out.push(
    `tools/sim \`${d.scenario}\` with ${d.services} services (each starts a rolling deployment within 30 s; the same run as \`npm run sim -- --scenario ${d.scenario}\` at 50 services), delivery as deployed: ${int(d.sim.world.ecsEvents)} ECS events; the fan-out turned ${int(fan?.triggers ?? 0)} triggers into ${int(fan?.workMessages ?? 0)} work messages; ${int(d.sim.delivery.invocations)} reconciler invocations (at most ${d.sim.delivery.maxConcurrentInvocations} at once, ${d.sim.delivery.environments} execution environments) made ${int(d.tally.records)} reconciles (entry × invocation).` +
      (g === undefined
        ? ''
        : ` Beside it, \`${g.scenario}\`: the same storm through one FIFO message group, one invocation at a time (the design before per-entry delivery; a counterfactual): ${int(g.sim.world.ecsEvents)} ECS events, ${int(g.sim.delivery.invocations)} invocations, ${int(g.tally.records)} reconciles.`),
  );
  out.push('');
  const head = ['API', 'As deployed: calls', 'per event', 'per reconcile (max)', 'minimum needed'];
  if (g !== undefined) head.push('One group: calls', 'per event', 'per reconcile (max)', 'minimum needed');
  const cells = (st: StormResult, api: ApiName) => {
    const c = st.tally.calls[api] ?? 0;
    return [
      int(c),
      ratio(c, st.sim.world.ecsEvents),
      `${ratio(c, st.tally.records)} (${st.tally.maxPerRecord[api] ?? 0})`,
      minimumFor(api, st.tally.records, st.sim.writes.movesNeeded),
    ];
  };
  out.push(
    table(
      head,
      REPORTED_APIS.map(({ api, label }) => [
        label,
        ...cells(d, api),
        ...(g === undefined ? [] : cells(g, api)),
      ]),
    ),
  );
  out.push('');
  out.push(
    `Calls per reconcile by trigger, as deployed (the reconciler's decision records; the fan-out's own calls on the last row):`,
  );
  out.push('');
  const triggerApis = REPORTED_APIS.slice(0, 4);
  out.push(
    table(
      ['Trigger', 'Reconciles', ...triggerApis.map((a) => a.label)],
      [
        ...Object.entries(d.tally.recordsByTrigger).map(([trigger, n]) => [
          trigger,
          int(n),
          ...triggerApis.map(({ api }) => ratio(d.tally.callsByTrigger[trigger]?.[api] ?? 0, n)),
        ]),
        [
          'fan-out (resync shard checks, service look-ups), in total',
          '—',
          ...triggerApis.map(({ api }) =>
            api === 'registry.read'
              ? `${int(fan?.registryPageReads ?? 0)} page reads`
              : int(fan?.calls[api] ?? 0),
          ),
        ],
      ],
    ),
  );
  out.push('');
  const line = (name: string, st: StormResult) =>
    `${name}: decisions ${Object.entries(st.tally.actions)
      .map(([a, n]) => `${a} ${n}`)
      .join(
        ', ',
      )}; ${st.tally.coalescedTriggers} triggers folded into ${st.tally.records} reconciles; stale pointers ${st.sim.stale.count} (p50 ${sec(st.sim.stale.p50Ms)}, p99 ${sec(st.sim.stale.p99Ms)}, max ${sec(st.sim.stale.maxMs)}); queue wait p99 ${sec(st.sim.delivery.queueWait.p99Ms)}; ${st.sim.delivery.redeliveries} redeliveries (${st.sim.delivery.lagRedeliveries} deferred for Cloud Map lag), ${st.sim.delivery.deadLettered} dead-lettered, ${st.sim.delivery.lambdaTimeouts} timeouts.`;
  out.push(line('As deployed', d));
  if (g !== undefined) {
    out.push('');
    out.push(line('One group', g));
  }
  out.push('');
  out.push(
    `Registry tokens are not counted here: each execution environment's \`KeycloakTokenProvider\` fetches its own and keeps it for its lifetime (${d.sim.delivery.environments} environments in this storm); the per-path table above counts them per fresh process.`,
  );
  out.push('');

  out.push('### 5. The alternative: polling Cloud Map on every health check (Option 4)');
  out.push('');
  out.push(
    table(
      [
        'Services',
        'ECS events/day',
        `Reconciler Cloud Map calls/day (resync ${r.options.resyncMs / 60_000} min; of which resync)`,
        `… with resync ${r.options.altResyncMs / 60_000} min`,
        'Polling, 1 / 2 / 4 registry tasks',
        'Reconciler stale address: p50 / p99 / max (episodes)',
        'Polling stale address: mean / max',
        'Longest reconciler invocation',
      ],
      r.alternative.rows.map((row) => [
        int(row.services),
        int(row.reconciler.sim.world.ecsEvents),
        `${int(row.reconciler.cloudMapCalls)} (${int(row.reconciler.cloudMapCallsResync)})`,
        int(row.reconcilerAltResync.cloudMapCalls),
        row.polling.map((p) => int(p.cloudMapCallsPerDay)).join(' / '),
        `${sec(row.reconciler.sim.stale.p50Ms)} / ${sec(row.reconciler.sim.stale.p99Ms)} / ${sec(row.reconciler.sim.stale.maxMs)} (${row.reconciler.sim.stale.count}${row.reconciler.sim.final.bad.length > 0 ? `, ${row.reconciler.sim.final.bad.length} wrong at the end` : ''})`,
        `${row.polling[0]?.staleMeanS ?? 0} s / ${row.polling[0]?.staleMaxS ?? 0} s`,
        sec(row.reconciler.sim.delivery.invocation.maxMs),
      ]),
    ),
  );
  out.push('');
  out.push('Assumptions:');
  out.push('');
  for (const a of r.assumptions) out.push(`- ${a}`);
  out.push('');
  return out.join('\n');
}

function minimumFor(api: ApiName, records: number, moves: number): string {
  switch (api) {
    case 'cloudmap.DiscoverInstances':
    case 'ecs.DescribeTasks':
    case 'registry.read':
      return `1 per reconcile (${int(records)})`;
    case 'registry.write':
    case 'registry.readBack':
      return `1 per pointer move (${int(moves)})`;
    default:
      return '—';
  }
}
