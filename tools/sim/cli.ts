import { parseArgs } from 'node:util';
import { bounds } from './bounds';
import { formatTable } from './report';
import { runScenario, type ScenarioResult } from './run';
import { DAY_SCAN, formatScan } from './scan';
import { SCENARIO_NAMES, SCENARIOS } from './scenarios';

const HELP = `Usage: npm run sim -- [--scenario NAME]... [--seed N] [--json]

Runs the reconciler's real handler and decision code against a simulated ECS cluster, Cloud Map,
EventBridge, SQS and registry on a virtual clock, and prints the measures of each scenario. Exits 1
when an invariant or a bound of tools/sim/bounds.ts is broken in any scenario run.

  --scenario NAME   a scenario to run (repeatable, or a comma list); default: all
  --seed N          the seed (default 1): the same seed gives the same figures
  --max-concurrency N  the work queue's event source mapping maximum concurrency (per-entry
                    scenarios; default as deployed)
  --scan            model the registry's background security scan after each server write
                    (tools/sim/scan.ts: a share of scans fail, disabling the server with
                    security-pending, some writing an older address back) and report it
  --no-names-sweep  follow scenarios without the names sweep's schedule rule (the design before
                    it: a name waits for the full resync), to compare its cost and effect
  --json            print the results as JSON instead of a table
  --help            this text

Scenarios:
${SCENARIO_NAMES.map((n) => `  ${n.padEnd(32)} ${SCENARIOS[n]?.description ?? ''}`).join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  let values: {
    scenario?: string[];
    seed?: string;
    json?: boolean;
    help?: boolean;
    'max-concurrency'?: string;
    scan?: boolean;
    'no-names-sweep'?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string', multiple: true, short: 's' },
        seed: { type: 'string' },
        'max-concurrency': { type: 'string' },
        json: { type: 'boolean' },
        scan: { type: 'boolean' },
        'no-names-sweep': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isSafeInteger(seed)) {
    process.stderr.write(`--seed must be an integer, got ${values.seed}\n`);
    return 2;
  }
  const maxConcurrency =
    values['max-concurrency'] === undefined ? undefined : Number(values['max-concurrency']);
  if (maxConcurrency !== undefined && !(Number.isSafeInteger(maxConcurrency) && maxConcurrency >= 1)) {
    process.stderr.write(`--max-concurrency must be a positive integer, got ${values['max-concurrency']}\n`);
    return 2;
  }
  const names = (values.scenario ?? SCENARIO_NAMES)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => SCENARIOS[n] === undefined);
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIO_NAMES.join(', ')}\n`);
    return 2;
  }
  const results: ScenarioResult[] = [];
  const lambda = {
    ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
    ...(values['no-names-sweep'] ? { namesSweepMs: 0 } : {}),
  };
  const knobs = Object.keys(lambda).length === 0 ? {} : { knobs: { lambda } };
  const scan = values.scan ? { scan: DAY_SCAN } : {};
  for (const name of names) results.push(await runScenario(name, { seed, ...knobs, ...scan }));
  const invariantBroken = results.filter(
    (r) =>
      r.final.bad.some((p) => p !== r.stuck?.path) ||
      r.violations.unsafeWrites + r.violations.blankWrites > 0,
  );
  const broken = results.flatMap((r) =>
    bounds(r)
      .filter((b) => !b.ok)
      .map((b) => `${r.scenario}: ${b.name} ${b.value} > ${b.limit}`),
  );
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify(
        results.map((r) => ({ ...r, bounds: bounds(r) })),
        null,
        2,
      )}\n`,
    );
  } else {
    const wall = results.reduce((a, r) => a + r.runtimeMs, 0);
    process.stdout.write(
      `Simulation, seed ${seed} (${(wall / 1000).toFixed(1)} s wall clock)\n\n${formatTable(results)}\n`,
    );
    const bad = invariantBroken;
    if (bad.length > 0)
      process.stdout.write(`\nINVARIANT BROKEN in ${bad.map((r) => r.scenario).join(', ')}\n`);
    if (values.scan) process.stdout.write(`\n${formatScan(results)}\n`);
    process.stdout.write(
      broken.length === 0
        ? '\nEvery bound of the product design holds (tools/sim/bounds.ts).\n'
        : `\nBOUND BROKEN:\n${broken.map((b) => `  ${b}`).join('\n')}\n`,
    );
  }
  // Exit 0 only when every invariant and bound held.
  if (broken.length > 0 || invariantBroken.length > 0) {
    if (values.json) process.stderr.write(`bound or invariant broken: ${broken.join('; ')}\n`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
