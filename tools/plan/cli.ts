import '../cli/quiet-sdk';
import '../cli/closed-stdout';
import { parseArgs } from 'node:util';
import { createAwsAdapters } from '../../functions/lib/aws/clients';
import { createFollowAws } from '../../functions/lib/aws/follow';
import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { realSleep } from '../../functions/lib/config/defaults';
import { scheduledEventBody } from '../../functions/lib/delivery/bodies';
import { PermanentError } from '../../functions/lib/errors';
import { createRegistryClient } from '../../functions/lib/registry/client';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { NO_METRICS } from '../../functions/lib/telemetry/telemetry';
import { checkAwsSetup } from '../cli/aws';
import { fromCaller, loadConfig } from '../cli/io';
import { recordLogger, stderrLogger } from '../cli/log-lines';
import { openOutput } from '../cli/out-file';
import { checkRegistry } from '../cli/registry-check';
import { runCli } from '../cli/run';
import { readUsage } from '../cli/usage';
import { DeployedPath, SkippingClock } from '../replay/deployed';
import { planFollow } from './follow-listing';
import { planSummary, planTable } from './table';

const HELP = `Usage: npm run plan -- --config <config.json> [--json] [--out FILE] [--verbose]

A live, read-only resync of every target: for each entry its current address, the Cloud Map
instances with their ECS state and health, and what the reconciler would do and why. It runs
the deployed resync in dry-run mode against real AWS and the configured registry: the fan-out's
shard checks read each registry page, and the entries that need work go through an in-memory
work queue to the worker. It never writes (the registry client is also wrapped so that a write
is refused). A configured entry that no registry page lists is reported (the resync cannot reach it).

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
  // The deployed resync, read-only: the fan-out's shards check each registry page, the entries
  // that need work go through the work queue to the worker, which decides in dry run.
  const client = createRegistryClient(config.registry, { logger });
  const worked: DecisionRecord[] = [];
  const checked: DecisionRecord[] = [];
  const failures: string[] = [];
  const clock = new SkippingClock();
  const path = new DeployedPath({
    config,
    ...createAwsAdapters(),
    follow: createFollowAws(config, { maxAttempts: 2 }),
    registry: {
      readEntry: (ref, ctx) => client.readEntry(ref, ctx),
      writeUrl: async () => {
        throw new PermanentError('plan never writes');
      },
      fieldsMayReset: (entry) => client.fieldsMayReset(entry),
    },
    reads: client,
    logger,
    metrics: NO_METRICS,
    // A resync's shards are spread over the schedule's period: plan reaches them at once.
    now: clock.now,
    sleep: realSleep,
    wait: clock.wait,
    onRecord: (r) => worked.push(r),
    onCheck: (r) => checked.push(r),
    onFailure: (f) => failures.push(f),
    // One answer per entry: a read-only look does not wait out the work queue's redeliveries.
    maxReceives: 1,
  });
  const body = scheduledEventBody('plan', new Date().toISOString());
  path.send([body]);
  await path.drain();
  const key = (t: { kind: string; path: string }) => `${t.kind}:${t.path}`;
  // A configured entry that no registry page lists is never reached by a resync: the worker is
  // asked about it directly (it reads the entry and says what is wrong).
  const decided = new Set([...checked, ...worked].map((r) => key(r.target)));
  const unlisted = config.targets.filter((t) => !decided.has(key(t)));
  if (unlisted.length > 0) {
    path.sendWork(unlisted, 'plan-unlisted', body);
    await path.drain();
  }
  // Each entry's last decision: the worker's where it had work, else its shard check's.
  const last = new Map<string, DecisionRecord>();
  for (const r of [...checked, ...worked]) last.set(key(r.target), r);
  const records = [...last.values()];
  if (json)
    for (const r of checked)
      if (last.get(key(r.target)) === r)
        logger.info(`${r.action} ${r.target.kind} ${r.target.path}: ${r.reason} (resync shard check)`, {
          decision: r,
        });
  if (!json) output.line(`${planTable(records)}\n`);
  // Follow mode: every registry entry, adopted or left alone and why (follow-listing.ts).
  const follow = await planFollow(config);
  for (const line of follow?.lines(json) ?? []) output.line(line);
  const wrote = output.close();
  if (wrote !== undefined) process.stderr.write(`plan: ${wrote}\n`);
  const missing = config.targets.filter((t) => !last.has(key(t)));
  for (const t of missing) process.stderr.write(`plan: ${t.kind} ${t.path}: no decision was made\n`);
  for (const f of failures) process.stderr.write(`plan: ${f}\n`);
  process.stderr.write(`${planSummary(records)}\n`);
  if (follow !== undefined) process.stderr.write(`${follow.summary}\n`);
  return records.some((r) => r.action === 'error') ||
    missing.length > 0 ||
    failures.length > 0 ||
    follow?.failed
    ? 1
    : 0;
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
