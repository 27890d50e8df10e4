import '../cli/quiet-sdk';
import '../cli/closed-stdout';
import { parseArgs } from 'node:util';
import type { ReconcilerConfig } from '../../functions/reconciler/config';
import { PermanentError } from '../../functions/reconciler/errors';
import { checkAwsSetup } from '../cli/aws';
import { fromCaller, loadConfig } from '../cli/io';
import { recordLogger, stderrLogger } from '../cli/log-lines';
import { openOutput } from '../cli/out-file';
import { liveReconciler } from '../cli/reconciler';
import { checkRegistry } from '../cli/registry-check';
import { runCli } from '../cli/run';
import { readUsage } from '../cli/usage';
import { planFollow } from './follow-listing';
import { planSummary, planTable } from './table';

const HELP = `Usage: npm run plan -- --config <config.json> [--json] [--out FILE] [--verbose]

A live, read-only resync of every target: for each entry its current address, the Cloud Map
instances with their ECS state and health, and what the reconciler would do and why. It runs
the reconciler itself in dry-run mode against real AWS and the configured registry, and never
writes (the registry client is also wrapped so that a write is refused).

  --config FILE   the reconciler configuration (the Lambda's format); paths are from your directory
  --json          print the decision records as the Lambda logs them ({"decision": …}), one per line
  --out FILE      write that output (or the table) to FILE instead of stdout, whole at the end
                  (so nothing else, such as npm's banner, gets in); paths are from your directory
  --verbose       also print the reconciler's other log lines to stderr
  -h, --help      show this help

AWS: the standard credential chain and region (AWS_REGION), honouring AWS_ENDPOINT_URL_*.

Before any target, it checks the registry credentials once (the token's environment variable,
or the Keycloak secret and token, and one authenticated read) and stops with one message naming
what to fix. The summary counts the decisions by action, the servers the registry's scan disabled
after a write, the entries security-pending, the untrusted Cloud Map instances and the errors.

With follow.enabled, it then lists every registry entry with what follow mode would do (adopt,
owned, or left alone and why: configured, excluded, not-owned, foreign, released, ambiguous, …;
with --json one {"follow": …} line each), and a "follow:" summary line counting them.

Exit status: 0 when no target would end in error; 1 when any would (or AWS or the registry
cannot be used, or in follow mode an entry's verdict is error; the summary says how many); 2 on
bad usage.`;

async function main(argv: string[]): Promise<number> {
  const args = readUsage('plan', HELP, () => parse(argv));
  if (!args.ok) return args.exitCode;
  let config: ReconcilerConfig;
  try {
    config = { ...loadConfig(fromCaller(args.values.config)), dryRun: true };
  } catch (error) {
    process.stderr.write(`plan: ${(error as Error).message}\n`);
    return 1;
  }
  const setup = await checkAwsSetup();
  if (setup !== undefined) {
    process.stderr.write(`plan: ${setup}\n`);
    return 1;
  }
  const registryProblem = await checkRegistry(config.registry);
  if (registryProblem !== undefined) {
    process.stderr.write(`plan: ${registryProblem}\n`);
    return 1;
  }
  const json = args.values.json === true;
  const output = openOutput(args.values.out === undefined ? undefined : fromCaller(args.values.out));
  const other = args.values.verbose ? stderrLogger() : undefined;
  const logger = json
    ? recordLogger((line) => output.line(line), other)
    : (other ?? recordLogger(() => undefined));
  const { reconciler } = liveReconciler({
    config,
    logger,
    registry: (client) => ({
      readEntry: (ref, ctx) => client.readEntry(ref, ctx),
      writeUrl: async () => {
        throw new PermanentError('plan never writes');
      },
    }),
  });
  const outcome = await reconciler.reconcile([{ type: 'schedule', eventId: 'plan', source: 0, attempt: 1 }]);
  if (!json) output.line(`${planTable(outcome.records)}\n`);
  // Follow mode: every registry entry, adopted or left alone and why (follow-listing.ts).
  const follow = await planFollow(config);
  for (const line of follow?.lines(json) ?? []) output.line(line);
  const wrote = output.close();
  if (wrote !== undefined) process.stderr.write(`plan: ${wrote}\n`);
  process.stderr.write(`${planSummary(outcome.records)}\n`);
  if (follow !== undefined) process.stderr.write(`${follow.summary}\n`);
  return outcome.records.some((r) => r.action === 'error') || follow?.failed ? 1 : 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

runCli('plan', main);
