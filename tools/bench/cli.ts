import { parseArgs } from 'node:util';
import { type BenchOptions, QUICK_OPTIONS, renderMarkdown, runBench } from './report';

/**
 * `npm run bench [-- --json] [--quick] [--seed N] [--runs N] [--fleets 10,100,1000] [--no-sim] [--strict]`
 *
 * Builds the bundles, measures cold start, warm handling, API calls in a deployment storm and a
 * simulated day against the polling design, and prints the report (markdown, or JSON with --json).
 * Progress goes to stderr. With --strict, exits 1 when a target fails (for a CI gate).
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      runs: { type: 'string' },
      fleets: { type: 'string' },
      'no-sim': { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench -- [--json] [--quick] [--seed N] [--runs N] [--fleets 10,100,1000] [--no-sim] [--strict]',
    );
    return 0;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const options: Partial<BenchOptions> = values.quick ? { ...QUICK_OPTIONS } : {};
  if (values.seed !== undefined) options.seed = positiveInt(values.seed, '--seed');
  if (values.runs !== undefined) options.coldRuns = positiveInt(values.runs, '--runs');
  if (values.fleets !== undefined)
    options.fleets = values.fleets.split(',').map((f) => positiveInt(f, '--fleets'));
  if (values['no-sim']) options.useSim = false;
  const report = await runBench(options, (line) => process.stderr.write(`bench: ${line}\n`));
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderMarkdown(report)}\n`);
  return values.strict && !report.verdicts.every((v) => v.pass) ? 1 : 0;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${flag}: ${JSON.stringify(text)} is not a whole number`);
  return n;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
