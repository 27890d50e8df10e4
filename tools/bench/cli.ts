import { parseArgs } from 'node:util';
import { LAMBDA_NODE_MAJOR, nodeCacheDir, nodePackageName } from './node-runtime';
import { type BenchOptions, DEFAULT_OPTIONS, QUICK_OPTIONS, renderMarkdown, runBench } from './report';

const d = DEFAULT_OPTIONS;

export const HELP = `usage: npm run bench -- [options]

Builds the Lambda bundle and a Logger-only baseline with infra/bundling.ts, then measures, in fresh
Node processes on the local Node and on Node ${LAMBDA_NODE_MAJOR} (the Lambda runtime's major): init
(process start -> handler ready), init + first invocation and warm events against loopback
stand-ins (tools/local-registry and an in-process ECS / Cloud Map / Secrets Manager fake), peak
RSS and the memory size it calls for; fetch against node:http; the calls of one delivery on each
path (entry moves, no-op, resync, Cloud Map lag); warm handling in memory over the simulation's
cluster; and, through the simulation's deployment (tools/sim runScenario, calm settings), the API
calls of a deployment storm and simulated days against polling. Prints markdown (progress on
stderr). Never contacts AWS or any network but loopback, except the npm registry for the Node ${LAMBDA_NODE_MAJOR} binary.

Options:
  --json               print the report as JSON instead of markdown
  --quick              small sizes, local Node only, no cold start, no HTTP or path runs (for tests)
  --seed N             seed of the fleets and events (default ${d.seed})
  --runs N             fresh processes per cold-start row and Node (default ${d.coldRuns}; 0 skips)
  --warmup N           discarded rounds before them (default ${d.coldWarmup})
  --invoke-warm N      warm invocations after the first in each reconciler process (default ${d.invokeWarm})
  --http-runs N        fresh processes per client and Node for fetch vs node:http (default ${d.httpRuns}; 0 skips)
  --no-paths           skip the per-path delivery runs (the lag path waits its look-up loop out, ~15 s)
  --no-runtime-node    run on the local Node only (no Node ${LAMBDA_NODE_MAJOR})
  --fleets A,B,C       fleet sizes of the simulated days (default ${d.fleets.join(',')})
  --no-single-group    skip the storm through one FIFO message group (the design before per-entry delivery)
  --machine NAME       what the report calls this machine (default "<cores>-core <arch> machine")
  --strict             exit 1 when a target FAILs (for a gate; the exit is 0 otherwise)
  -h, --help           this help

Node ${LAMBDA_NODE_MAJOR}: the npm registry's ${nodePackageName()}@${LAMBDA_NODE_MAJOR} package, installed with npm on first use into
${nodeCacheDir(LAMBDA_NODE_MAJOR)} (outside the repository; delete it to update).
Exit: 0 done, 1 a target failed under --strict, 2 the benchmark could not run.`;

/** The command line's options (every one is described in HELP; a test checks it). */
export const OPTIONS = {
  json: { type: 'boolean', default: false },
  quick: { type: 'boolean', default: false },
  seed: { type: 'string' },
  runs: { type: 'string' },
  warmup: { type: 'string' },
  'invoke-warm': { type: 'string' },
  'http-runs': { type: 'string' },
  'no-paths': { type: 'boolean', default: false },
  'no-runtime-node': { type: 'boolean', default: false },
  fleets: { type: 'string' },
  'no-single-group': { type: 'boolean', default: false },
  machine: { type: 'string' },
  strict: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: OPTIONS,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const options: Partial<BenchOptions> = values.quick ? { ...QUICK_OPTIONS } : {};
  if (values.seed !== undefined) options.seed = wholeNumber(values.seed, '--seed');
  if (values.runs !== undefined) options.coldRuns = wholeNumber(values.runs, '--runs');
  if (values.warmup !== undefined) options.coldWarmup = wholeNumber(values.warmup, '--warmup');
  if (values['invoke-warm'] !== undefined)
    options.invokeWarm = wholeNumber(values['invoke-warm'], '--invoke-warm');
  if (values['http-runs'] !== undefined) options.httpRuns = wholeNumber(values['http-runs'], '--http-runs');
  if (values['no-paths']) options.paths = false;
  if (values['no-runtime-node']) options.runtimeNode = false;
  if (values.fleets !== undefined)
    options.fleets = values.fleets.split(',').map((f) => wholeNumber(f, '--fleets'));
  if (values['no-single-group']) options.singleGroup = false;
  if (values.machine !== undefined) options.machine = values.machine;
  const report = await runBench(options, (line) => process.stderr.write(`bench: ${line}\n`));
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderMarkdown(report)}\n`);
  return values.strict && !report.verdicts.every((v) => v.pass) ? 1 : 0;
}

function wholeNumber(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new Error(`${flag}: ${JSON.stringify(text)} is not a whole number`);
  return n;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    },
  );
}
