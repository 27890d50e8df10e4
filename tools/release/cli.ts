import '../cli/quiet-sdk';
import '../cli/closed-stdout';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SDK_CLIENT_SETTINGS } from '../../functions/lib/aws/clients';
import { OwnershipTable } from '../../functions/lib/aws/ownership-table';
import { describeError } from '../../functions/lib/errors';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import { createRegistryClient } from '../../functions/lib/registry/client';
import { checkAwsSetup } from '../cli/aws';
import { fromCaller, loadConfig } from '../cli/io';
import { runCli } from '../cli/run';
import { readUsage } from '../cli/usage';
import { isDone, release, releaseTable } from './release';

const HELP = `Usage: npm run release -- --config <config.json> [--path P …] [--dry-run]

Hands the entries follow mode adopted back: each entry the ownership table holds a row for that
still has the address the reconciler wrote is written back to the address it was registered with
(a compare-and-swap write), and its row is deleted; an entry someone changed since is left as it
is and only released (its row deleted). Run it before removing the reconciler.

  --config FILE   the reconciler's configuration (its ownership.table and registry)
  --path P        only this registry path (repeatable); default: every owned entry
  --dry-run       say what would be done; write nothing
  -h, --help      show this help

Prints a table of the entries on stdout and a summary on stderr. AWS: the standard credential
chain and region, honouring AWS_ENDPOINT_URL_* (AWS_ENDPOINT_URL_DYNAMODB for the table).

Exit status: 0 when everything asked was done; 1 otherwise (a failed entry, a path without a row,
an unreadable table); 2 on bad usage.`;

async function main(argv: string[]): Promise<number> {
  const args = readUsage('release', HELP, () =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        path: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (!args.ok) return args.exitCode;
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(fromCaller(args.values.config));
  } catch (error) {
    process.stderr.write(`release: ${describeError(error)}\n`);
    return 1;
  }
  if (config.ownership === undefined) {
    process.stderr.write('release: the configuration has no ownership.table: nothing was adopted\n');
    return 1;
  }
  const setup = await checkAwsSetup();
  if (setup !== undefined) {
    process.stderr.write(`release: ${setup}\n`);
    return 1;
  }
  // One retry fewer than the Lambda's: an operator at a terminal waits for the answer.
  const ownership = new OwnershipTable(
    new DynamoDBClient({ ...SDK_CLIENT_SETTINGS, maxAttempts: 2 }),
    config.ownership.table,
  );
  const registry = createRegistryClient(config.registry);
  const dryRun = args.values['dry-run'] === true;
  let results: Awaited<ReturnType<typeof release>>;
  try {
    results = await release(
      { ownership, registry, namespace: config.namespace, ctx: NO_COUNT },
      { ...(args.values.path === undefined ? {} : { paths: args.values.path }), dryRun },
    );
  } catch (error) {
    process.stderr.write(`release: ${describeError(error)}; nothing was written\n`);
    return 1;
  }
  process.stdout.write(`${releaseTable(results)}\n`);
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const done = results.filter(isDone).length;
  process.stderr.write(
    `release: ${results.length} entr${results.length === 1 ? 'y' : 'ies'}` +
      `${
        results.length > 0
          ? ` (${Object.entries(counts)
              .map(([s, n]) => `${s} ${n}`)
              .join(', ')})`
          : ''
      }; ` +
      `${done === results.length ? 'all done' : `${results.length - done} not done`}` +
      `${dryRun ? ' (dry run: nothing written)' : ''}; table ${ownership.table}\n`,
  );
  return done === results.length ? 0 : 1;
}

runCli('release', main);
