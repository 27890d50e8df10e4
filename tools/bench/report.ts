import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { ApiName } from '../../functions/reconciler/ports';
import { BASELINE_ENTRY, bundle, LAMBDA_BUNDLING, LAMBDA_ENTRY, ROOT } from '../build';
import { type ColdStartSeries, measureColdStart } from './coldstart';
import { type DayRates, type DayResult, DEFAULT_RATES, type PollingModel, pollingModel, runDay } from './day';
import { DEFAULT_TIMING } from './fleet';
import { startKeycloak } from './keycloak';
import { type RunInfo, runInfo } from './machine';
import { runSimStorm, type SimStormOutcome } from './sim-storm';
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
  /** Load the simulation's deployment storm (tools/sim) when present. */
  useSim: boolean;
  /** Where the benchmark's bundles go (under dist/, which is gitignored). */
  outdir: string;
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
  useSim: true,
  outdir: 'dist/bench',
};

export const QUICK_OPTIONS: Partial<BenchOptions> = {
  coldRuns: 0,
  warmServices: 5,
  warmEvents: 200,
  warmWarmup: 50,
  stormServices: 5,
  fleets: [3, 10],
  useSim: false,
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
  coldStart:
    | { runs: number; warmup: number; series: ColdStartSeries[]; loadBefore: number[]; loadAfter: number[] }
    | { skipped: string };
  warm: WarmResult;
  storm: { bench: StormResult; sim: SimStormOutcome | { ok: false; reason: string } };
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
  const run = await runInfo();

  log('bundling the Lambda and the baseline');
  const lambdaBuild = await bundle(LAMBDA_ENTRY, join(options.outdir, 'lambda'));
  const baselineBuild = await bundle(BASELINE_ENTRY, join(options.outdir, 'baseline'));
  const figures = (entry: string, b: typeof lambdaBuild): BundleFigures => ({
    entry,
    file: b.outfile.slice(ROOT.length + 1),
    bytes: b.bytes,
    top: b.byPackage.slice(0, 6),
  });

  let coldStart: BenchReport['coldStart'] = { skipped: 'coldRuns is 0' };
  if (options.coldRuns > 0) {
    log(`cold start: ${options.coldRuns} fresh processes per bundle (+${options.coldWarmup} discarded)`);
    const loadBefore = loadavg();
    coldStart = {
      runs: options.coldRuns,
      warmup: options.coldWarmup,
      loadBefore,
      loadAfter: [],
      series: await measureColdStart(
        [
          { name: 'baseline (Logger only)', bundle: baselineBuild.outfile },
          { name: 'reconciler', bundle: lambdaBuild.outfile },
          {
            name: 'reconciler, NODE_OPTIONS=--enable-source-maps',
            bundle: lambdaBuild.outfile,
            nodeOptions: '--enable-source-maps',
          },
        ],
        { runs: options.coldRuns, warmup: options.coldWarmup },
      ),
    };
    coldStart.loadAfter = loadavg();
  }

  log(`warm handling: ${options.warmEvents} events on ${options.warmServices} services`);
  const warm = await measureWarm({
    services: options.warmServices,
    seed: options.seed,
    events: options.warmEvents,
    warmup: options.warmWarmup,
  });

  log(`deployment storm: ${options.stormServices} services`);
  const keycloak = await startKeycloak();
  let stormBench: StormResult;
  try {
    stormBench = await runStorm({
      name: 'bench deployment storm',
      services: options.stormServices,
      seed: options.seed,
      keycloak,
    });
  } finally {
    await keycloak.close();
  }
  const sim: SimStormOutcome = options.useSim
    ? await runSimStorm(options.seed)
    : { ok: false, reason: 'not run (useSim false)' };
  if (options.useSim) log(sim.ok ? 'tools/sim deployment-storm: loaded' : `tools/sim: ${sim.reason}`);

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
    coldStart,
    warm,
    storm: { bench: stormBench, sim },
    alternative: { rates: DEFAULT_RATES, pollingIntervalS: 300, rows },
    assumptions: assumptions(options),
  };
  return { ...report, verdicts: verdicts(report) };
}

function assumptions(o: BenchOptions): string[] {
  const t = DEFAULT_TIMING;
  const r = DEFAULT_RATES;
  return [
    `Fleets: services of 1–4 tasks (seeded, seed ${o.seed}), one registry entry each; entries start pointing at a live task. Registry service: 2 tasks; service 0 is a built-in entry the registry resets on each start.`,
    `Day rates: ${r.deploysPerService} rolling deployment per service, ${r.crashesPerTask} crashes per task, ${r.scaleOutsPerService} scale-out per service (scale-in 1–4 h later), ${r.registryRestarts} registry deployment; Poisson counts at uniform times. Resync every ${o.resyncMs / 60_000} min (deployed), and every ${o.altResyncMs / 60_000} min beside it.`,
    `ECS lifecycle: PROVISIONING, PENDING +${t.pendingAfterMs / 1000} s, RUNNING +${t.runningAfterMs / 1000} s; stop: desired STOPPED, DEPROVISIONING +${t.deprovisioningAfterMs / 1000} s, STOPPED +${t.stoppedAfterMs / 1000} s; rolling deployments stop old tasks ${t.deploymentStopOldAfterMs / 1000} s after starting new ones.`,
    `Delivery: every event reaches the function ${t.deliveryDelayMs / 1000} s after it happens, through one FIFO message group, batches ≤ 10, one invocation at a time; a failed message is redelivered after ${t.visibilityTimeoutMs / 1000} s. No event is lost (a lost event would wait for the next resync). Cloud Map lists a task ${t.registrationLagMs} ms after RUNNING.`,
    `Invocation time (virtual) = ${t.invocationOverheadMs} ms + the larger of the slowest target and the sum over targets / 4, with per-call latencies ${Object.entries(
      t.callLatencyMs,
    )
      .filter(([api]) => REPORTED_APIS.some((a) => a.api === api))
      .map(([api, ms]) => `${api} ${ms} ms`)
      .join(', ')}. These shape stale times (sub-second) and batching, not call counts.`,
    'Stale address: an entry names a task that is not live (RUNNING with desired RUNNING) while a live task of its service exists; it ends when the write lands (end of the invocation).',
    'Polling (Option 4, analytical): every registry task health-checks every server every 300 s and looks it up in Cloud Map each time: services × registry tasks × 288 calls/day. A task that goes away is noticed at each registry task’s next check: stale 150 s on average, 300 s at worst (Cloud Map deregistration lag and the check itself not counted, so this favours polling).',
  ];
}

const API_ORDER: ApiName[] = ['cloudmap.DiscoverInstances', 'ecs.DescribeTasks', 'registry.read'];

function verdicts(r: Omit<BenchReport, 'verdicts'>): Verdict[] {
  const out: Verdict[] = [];
  const bytes = r.bundle.lambda.bytes;
  out.push({
    target: 'Bundle < 500 KB minified',
    measured: `${kb(bytes)} (baseline ${kb(r.bundle.baseline.bytes)})`,
    pass: bytes < 500_000,
  });
  if ('series' in r.coldStart) {
    const base = r.coldStart.series[0];
    const lambda = r.coldStart.series[1];
    if (base !== undefined && lambda !== undefined) {
      const delta = lambda.readyMs.median - base.readyMs.median;
      const load = Math.max(...r.coldStart.loadBefore, ...r.coldStart.loadAfter);
      const busy =
        load > r.run.cores ? `; machine busy: load ${load.toFixed(1)} on ${r.run.cores} cores` : '';
      out.push({
        target: 'Cold start within 150 ms of the baseline (median)',
        measured: `+${ms(delta)} (${ms(lambda.readyMs.median)} vs ${ms(base.readyMs.median)}; p90 +${ms(lambda.readyMs.p90 - base.readyMs.p90)}; CPU time +${ms(lambda.cpuMs.median - base.cpuMs.median)}${busy})`,
        pass: delta <= 150,
      });
    }
  }
  const storms: {
    name: string;
    max: Partial<Record<ApiName, number>>;
    writes: number;
    moves: number;
    same: number;
  }[] = [
    {
      name: 'bench storm',
      max: r.storm.bench.tally.maxPerRecord,
      writes: r.storm.bench.counters.writes,
      moves: r.storm.bench.staleEpisodes,
      same: r.storm.bench.tally.writesWithoutChange,
    },
  ];
  if (r.storm.sim.ok)
    storms.push({
      name: 'tools/sim storm',
      max: r.storm.sim.storm.maxPerRecord,
      writes: r.storm.sim.storm.writes,
      moves: r.storm.sim.storm.movesNeeded,
      same: r.storm.sim.storm.sameValueWrites,
    });
  const dayMax: Partial<Record<ApiName, number>> = {};
  for (const row of r.alternative.rows)
    for (const api of API_ORDER)
      dayMax[api] = Math.max(dayMax[api] ?? 0, row.reconciler.tally.maxPerRecord[api] ?? 0);
  out.push({
    target: '≤ 1 Cloud Map, 1 ECS, 1 registry read per reconciled target per trigger',
    measured: `${storms
      .map((s) => `${s.name}: max ${API_ORDER.map((api) => s.max[api] ?? 0).join(' / ')}`)
      .join(
        '; ',
      )} (simulated days, all triggers: max ${API_ORDER.map((api) => dayMax[api] ?? 0).join(' / ')})`,
    pass: storms.every((s) => API_ORDER.every((api) => (s.max[api] ?? 0) <= 1)),
  });
  out.push({
    target: 'A write only when the address changes (writes = pointer moves needed)',
    measured: storms
      .map((s) => `${s.name}: ${s.writes} writes, ${s.moves} moves, ${s.same} same-value`)
      .join('; '),
    pass: storms.every((s) => s.same === 0 && s.writes <= s.moves),
  });
  const b = r.storm.bench;
  out.push({
    target: 'Bursts for the same target coalesced',
    measured: `${b.tally.coalescedTriggers} triggers → ${b.tally.records} reconciles (${(b.tally.coalescedTriggers / Math.max(1, b.tally.records)).toFixed(2)} per reconcile)`,
    pass: b.tally.coalescedTriggers > b.tally.records,
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
          `${row.services}: p50 ${sec(row.reconciler.staleMs.median)}, max ${sec(row.reconciler.staleMs.max)}`,
      )
      .join('; '),
    pass: rows.every(
      (row) =>
        row.reconciler.staleOpen === 0 &&
        (row.reconciler.staleMs.n === 0 ||
          (row.reconciler.staleMs.median < 150_000 && row.reconciler.staleMs.max < 300_000)),
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
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; esbuild ${m.esbuild}.  \n` +
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

  out.push('### 2. Cold start (fresh Node process → handler ready)');
  out.push('');
  if ('series' in r.coldStart) {
    out.push(
      `${r.coldStart.runs} processes per bundle, interleaved, after ${r.coldStart.warmup} discarded; fake credentials and loopback endpoints, nothing reaches a network. "Ready" is \`performance.now()\` in the process once \`import()\` of the bundle (clients built at module scope) returned; CPU time is the process's user + system time at that point. Load average ${r.coldStart.loadBefore.map((l) => l.toFixed(2)).join(' / ')} before, ${r.coldStart.loadAfter.map((l) => l.toFixed(2)).join(' / ')} after.`,
    );
    out.push('');
    out.push(
      table(
        ['Bundle', 'Median', 'p10', 'p90', 'Min', 'Max', 'Import alone (median)', 'CPU time (median)'],
        r.coldStart.series.map((s) => [
          s.name,
          ms(s.readyMs.median),
          ms(s.readyMs.p10),
          ms(s.readyMs.p90),
          ms(s.readyMs.min),
          ms(s.readyMs.max),
          ms(s.importMs.median),
          ms(s.cpuMs.median),
        ]),
      ),
    );
  } else out.push(`Skipped: ${r.coldStart.skipped}.`);
  out.push('');

  const w = r.warm;
  out.push('### 3. Per event (warm, in-memory World + MemoryRegistry, real handler)');
  out.push('');
  out.push(
    table(
      ['Measure', 'Value'],
      [
        [
          'Events timed (one per invocation)',
          `${int(w.perEvent.events)} after ${int(w.perEvent.warmup)} warm-up, ${w.services} services`,
        ],
        ['Per event: median / p99', `${ms(w.perEvent.ms.median)} / ${ms(w.perEvent.ms.p99)}`],
        [
          'Per actionable event (RUNNING, stopping): median / p99',
          `${ms(w.perEvent.actionableMs.median)} / ${ms(w.perEvent.actionableMs.p99)}`,
        ],
        [
          'Burst: events in batches of 10, back to back',
          `${int(w.burst.events)} events, ${int(w.burst.invocations)} invocations, ${ms(w.burst.totalMs)} → **${int(w.burst.eventsPerSecond)} events/s**`,
        ],
      ],
    ),
  );
  out.push('');

  out.push('### 4. API calls in the deployment storm');
  out.push('');
  const b = r.storm.bench;
  const sim = r.storm.sim;
  out.push(
    `Bench storm: ${b.services} services start a rolling deployment within ${b.windowMs / 1000} s; ${int(b.counters.taskEvents)} ECS events, ${int(b.counters.invocations)} invocations, ${int(b.tally.records)} reconciles (target × invocation); registry tokens from the real \`KeycloakTokenProvider\` against a loopback token endpoint. ` +
      (sim.ok
        ? `tools/sim \`${sim.storm.scenario}\` (the chaos simulation, \`npm run sim\`, with its own world and delivery model): ${int(sim.storm.ecsEvents)} ECS events, ${int(sim.storm.records)} reconciles.`
        : `tools/sim storm: $sim.reason.`),
  );
  out.push('');
  const head = ['API', 'Bench: calls', 'per event', 'per reconcile (max)', 'minimum needed'];
  if (sim.ok) head.push('Sim: calls', 'per event', 'per reconcile (max)', 'minimum needed');
  const rows = REPORTED_APIS.map(({ api, label }) => {
    const calls = b.tally.calls[api] ?? 0;
    const row = [
      label,
      int(calls),
      ratio(calls, b.counters.taskEvents),
      `${ratio(calls, b.tally.records)} (${b.tally.maxPerRecord[api] ?? 0})`,
      minimumFor(api, b.tally.records, b.staleEpisodes, b.minimumTokens, b.tokenLifetimeS),
    ];
    if (sim.ok) {
      const s = sim.storm;
      const c = s.calls[api] ?? 0;
      row.push(
        api === 'registry.token' ? 'not counted' : int(c),
        api === 'registry.token' ? '—' : ratio(c, s.ecsEvents),
        api === 'registry.token' ? '—' : `${ratio(c, s.records)} (${s.maxPerRecord[api] ?? 0})`,
        api === 'registry.token' ? '—' : minimumFor(api, s.records, s.movesNeeded, 0, 0),
      );
    }
    return row;
  });
  out.push(table(head, rows));
  out.push('');
  out.push(
    `Bench storm: ${b.tally.coalescedTriggers} triggers folded into ${b.tally.records} reconciles; decisions ${Object.entries(
      b.tally.actions,
    )
      .map(([a, n]) => `${a} ${n}`)
      .join(
        ', ',
      )}; stale pointers ${b.staleEpisodes} (p50 ${sec(b.staleMs.median)}, max ${sec(b.staleMs.max)}); ${b.counters.redeliveries} redeliveries.` +
      (sim.ok ? ` Sim storm: stale p50 ${sec(sim.storm.staleP50Ms)}, max ${sec(sim.storm.staleMaxMs)}.` : ''),
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
        'Longest invocation (holds the queue)',
      ],
      r.alternative.rows.map((row) => [
        int(row.services),
        int(row.reconciler.counters.taskEvents),
        `${int(row.reconciler.cloudMapCalls)} (${int(row.reconciler.cloudMapCallsResync)})`,
        int(row.reconcilerAltResync.cloudMapCalls),
        row.polling.map((p) => int(p.cloudMapCallsPerDay)).join(' / '),
        `${sec(row.reconciler.staleMs.median)} / ${sec(row.reconciler.staleMs.p99)} / ${sec(row.reconciler.staleMs.max)} (${row.reconciler.staleEpisodes}${row.reconciler.staleOpen > 0 ? `, ${row.reconciler.staleOpen} open` : ''})`,
        `${row.polling[0]?.staleMeanS ?? 0} s / ${row.polling[0]?.staleMaxS ?? 0} s`,
        sec(row.reconciler.counters.maxInvocationMs),
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

function minimumFor(api: ApiName, records: number, moves: number, tokens: number, lifetimeS: number): string {
  switch (api) {
    case 'cloudmap.DiscoverInstances':
    case 'ecs.DescribeTasks':
    case 'registry.read':
      return `1 per reconcile (${int(records)})`;
    case 'registry.write':
    case 'registry.readBack':
      return `1 per pointer move (${int(moves)})`;
    case 'registry.token':
      return `1 per ${lifetimeS} s token in use (${int(tokens)})`;
    default:
      return '—';
  }
}
