import { parseArgs } from 'node:util';
import { buildVariant, gateBundles, METRICS_ENTRIES, VARIANTS } from './bundles';
import { measureCalls } from './calls';
import { coldLoadEnv, FOLLOW_CONFIG, measureLoads } from './coldload';
import { followCost, verdicts } from './gate';
import { LAMBDA_NODE_MAJOR, nodeCacheDir, nodeOfMajor, nodePackageName } from './node-runtime';

export const HELP = `usage: npm run bench -- [--runs N] [--warmup N] [--ab] [--json]

A gate on three figures; exits 1 when one misses its target:
  1. the reconciler's bundle size (infra/bundling.ts, as the construct deploys it for the default
     configuration: follow mode off): at most 340 KB;
  2. its load in a fresh Node ${LAMBDA_NODE_MAJOR} process (process start → handler ready) against a
     Logger-only bundle's: the ratio of the medians at most 1.6, both loaded in the same run,
     round by round;
  3. the calls per delivery of the deployed path (fan-out → per-entry FIFO groups → worker) in the
     simulation's deployment storm, in memory: at most one DiscoverInstances, registry read and
     registry write per entry per delivery, and one DescribeTasks round (two calls when the
     decision rules' second look re-reads the pointed task).
Also loaded in the same rounds, and reported against the same targets without gating: the
reconciler bundled with follow mode on (the DynamoDB client and the adopter in the bundle).

Options:
  --runs N     fresh processes per bundle (default 15)
  --warmup N   discarded rounds before them (default 2)
  --ab         also load, in the same rounds, the bundle with each cold-start optimisation of the
               build taken out, and Logger + Powertools Metrics against Logger + our EMF writer;
               prints each one's gain (its median minus the deployed one's)
  --json       print the figures as JSON
  -h, --help   this text

Node ${LAMBDA_NODE_MAJOR}: the local Node when it is ${LAMBDA_NODE_MAJOR}, else the npm registry's ${nodePackageName()}@${LAMBDA_NODE_MAJOR},
installed with npm on first use into ${nodeCacheDir(LAMBDA_NODE_MAJOR)} (outside the repository;
delete it to update). Never contacts AWS or any network but the npm registry, once.
Exit: 0 every target met, 1 a target missed, 2 the bench could not run.`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      warmup: { type: 'string' },
      ab: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const runs = wholeNumber(values.runs ?? '15', '--runs', 1);
  const warmup = wholeNumber(values.warmup ?? '2', '--warmup', 0);
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

  log('building the bundles');
  const { reconciler, follow, baseline } = await gateBundles();
  const variants = values.ab
    ? [
        ...(await Promise.all(VARIANTS.map((v) => buildVariant(v.name, v.entry, v.dropAliases)))),
        await buildVariant('metrics-emf', METRICS_ENTRIES.emf),
        await buildVariant('metrics-powertools', METRICS_ENTRIES.powertools),
      ]
    : [];
  const node = await nodeOfMajor(LAMBDA_NODE_MAJOR, { log });
  log(
    `loading ${3 + variants.length} bundles in ${warmup + runs} rounds of fresh processes on Node ${node.version}`,
  );
  const series = await measureLoads(
    node,
    [baseline, reconciler, { ...follow, env: coldLoadEnv(FOLLOW_CONFIG) }, ...variants],
    { runs, warmup },
  );
  const med = (name: string) => series.find((s) => s.name === name)?.median ?? Number.NaN;
  log('running the deployment storm in the simulation');
  const calls = await measureCalls();

  const load = { reconcilerMs: med(reconciler.name), baselineMs: med(baseline.name), node: node.version };
  const results = verdicts({ bundleBytes: reconciler.bytes, load, calls });
  const followResults = followCost({
    off: { bundleBytes: reconciler.bytes, loadMs: load.reconcilerMs },
    on: { bundleBytes: follow.bytes, loadMs: med(follow.name) },
    baselineMs: load.baselineMs,
  });
  const ab = values.ab
    ? [
        ...VARIANTS.map((v) => {
          const bytes = (name: string) =>
            name === reconciler.name
              ? reconciler.bytes
              : (variants.find((b) => b.name === name)?.bytes ?? Number.NaN);
          return {
            optimisation: v.without,
            sizeDelta: bytes(v.name) - bytes(v.against),
            gainMs: med(v.name) - med(v.against),
            gainOfBaseline: (med(v.name) - med(v.against)) / load.baselineMs,
          };
        }),
        {
          optimisation: 'functions/lib/telemetry/emf.ts (Powertools Metrics instead, Logger + each)',
          sizeDelta:
            (variants.find((b) => b.name === 'metrics-powertools')?.bytes ?? Number.NaN) -
            (variants.find((b) => b.name === 'metrics-emf')?.bytes ?? Number.NaN),
          gainMs: med('metrics-powertools') - med('metrics-emf'),
          gainOfBaseline: (med('metrics-powertools') - med('metrics-emf')) / load.baselineMs,
        },
      ]
    : undefined;
  if (values.json) {
    const figures = {
      node: node.version,
      runs,
      warmup,
      bundleBytes: reconciler.bytes,
      load,
      follow: { bundleBytes: follow.bytes, loadMs: med(follow.name) },
      calls,
      series,
      ab,
    };
    console.log(JSON.stringify({ figures, verdicts: results, followCost: followResults }, null, 2));
  } else {
    console.log(
      `Node ${node.version} (${node.source}); ${runs} fresh processes per bundle after ${warmup} rounds discarded`,
    );
    for (const v of results) console.log(`${v.pass ? 'PASS' : 'FAIL'}  ${v.target}: ${v.measured}`);
    for (const v of followResults)
      console.log(`${v.pass ? 'met ' : 'over'}  ${v.target} (reported, not gated): ${v.measured}`);
    const loaded = [baseline, reconciler, follow, ...variants];
    const baseCpu = series.find((x) => x.name === baseline.name)?.cpuMedian ?? Number.NaN;
    for (const s of series)
      console.log(
        `      load median ${s.median.toFixed(1)} ms (CPU ${s.cpuMedian.toFixed(1)} ms, ${(s.cpuMedian / baseCpu).toFixed(2)}×)  ${s.name} (${((loaded.find((b) => b.name === s.name)?.bytes ?? Number.NaN) / 1000).toFixed(1)} KB)`,
      );
    for (const a of ab ?? [])
      console.log(
        `A/B   without ${a.optimisation}: bundle ${signed(a.sizeDelta / 1000)} KB, load median ${signed(a.gainMs)} ms = ${signed(100 * a.gainOfBaseline)} % of the baseline's (what keeping it gains)`,
      );
  }
  return results.every((v) => v.pass) ? 0 : 1;
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
}

function wholeNumber(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min)
    throw new Error(`${flag}: ${JSON.stringify(text)} is not a whole number ≥ ${min}`);
  return n;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    },
  );
}
