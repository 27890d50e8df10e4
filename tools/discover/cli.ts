import '../cli/quiet-sdk';
import '../cli/closed-stdout';
import { parseArgs } from 'node:util';
import { EcsAdapter } from '../../functions/lib/aws/ecs';
import { parseConfig } from '../../functions/lib/config/config';
import { describeError } from '../../functions/lib/errors';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import { createRegistryClient } from '../../functions/lib/registry/client';
import { awsClients, checkAwsSetup, explainAwsError } from '../cli/aws';
import { fromCaller, readJsonFile } from '../cli/io';
import { openOutput } from '../cli/out-file';
import { runCli } from '../cli/run';
import { readUsage } from '../cli/usage';
import { followSummary, followTable } from '../plan/follow-listing';
import { followDocument, followParams, followVerdicts, parseFollowDocument } from './follow';
import { matchEntries } from './match';
import { configDocument, matchTable, paramsDocument, summaryLine } from './output';
import { listRegistryEntries } from './registry-list';
import { readWorld } from './sources';

const HELP = `Usage: npm run discover -- --config <partial.json> [--follow] [--params] [--out FILE]

Finds the reconciler's targets in a live account: reads every server and agent of the registry,
the namespace's Cloud Map services (and the IPv4s their instances list) and the cluster's ECS
services (their Service Connect discovery names and ServiceRegistries), and matches each entry
whose address host is a Cloud Map service of the namespace (short name or <name>.<namespace>)
or an IPv4 one of its instances lists now. Read-only.

  --config FILE   a reconciler configuration without "targets": cluster, namespace,
                  registryService, registry (url and auth); paths are from your directory
  --follow        print the follow-mode configuration instead of a targets list: the shortest
                  working one (cluster, namespace, registry, follow.enabled, ownership.table),
                  with which the reconciler adopts every entry registered by a Cloud Map name at
                  run time, those registered later too; stderr then shows, per entry, what follow
                  mode would do (adopt, or left alone and why), as plan does
  --params        print the CDK parameters file (infra/params.example.json's shape) instead
  --out FILE      write the configuration (or parameters) to FILE instead of stdout, whole at
                  the end (so nothing else, such as npm's banner, gets in); paths are from your
                  directory
  -h, --help      show this help

Prints the complete configuration (or parameters) on stdout (or to --out) and, on stderr, a
table of every registry entry and why it was or was not matched, and a summary that counts the
entries, the disabled and security-pending servers, the targets found, the entries holding a
private IP no Cloud Map service lists now (unmatched-ip: a replaced task's address, rewritten
once you add the entry as a target) and the entries that could not be read. A registry list that looks endless (a page repeated, more pages than its
total_count allows) is named on stderr. AWS: the standard credential chain and region
(AWS_REGION), honouring AWS_ENDPOINT_URL_*.

Exit status: 0 when at least one target was found (with --follow: whether or not an entry is
adoptable yet) and everything could be read; 1 when none was found, a read failed or a registry
list looked endless (the summary says which); 2 on bad usage.`;

const PLACEHOLDER_TARGET = { kind: 'server', path: '/', cloudMapService: 'placeholder' };

async function main(argv: string[]): Promise<number> {
  const args = readUsage('discover', HELP, () => parse(argv));
  if (!args.ok) return args.exitCode;
  const file = fromCaller(args.values.config);
  let partial: Record<string, unknown>;
  let config: ReturnType<typeof parseConfig>;
  try {
    const value = readJsonFile(file, 'configuration file');
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error(`invalid configuration file ${file}: must be a JSON object`);
    partial = value as Record<string, unknown>;
    // Everything but the targets, which discover supplies.
    config = parseConfig({ ...partial, targets: [PLACEHOLDER_TARGET] }, file);
  } catch (error) {
    process.stderr.write(`discover: ${(error as Error).message}\n`);
    return 1;
  }
  const setup = await checkAwsSetup();
  if (setup !== undefined) {
    process.stderr.write(`discover: ${setup}\n`);
    return 1;
  }

  const { ecs, cloudMap } = awsClients();
  const client = createRegistryClient(config.registry);
  let world: Awaited<ReturnType<typeof readWorld>>;
  try {
    world = await readWorld(
      { ecs, cloudMap, describe: new EcsAdapter(ecs) },
      config.cluster,
      config.namespace,
      NO_COUNT,
    );
  } catch (error) {
    process.stderr.write(`discover: cannot read the account: ${explainAwsError(error)}\n`);
    return 1;
  }
  let listing: Awaited<ReturnType<typeof listRegistryEntries>>;
  try {
    listing = await listRegistryEntries(client, NO_COUNT);
  } catch (error) {
    process.stderr.write(
      `discover: cannot list the registry at ${config.registry.url}: ${describeError(error)}\n`,
    );
    return 1;
  }
  const { entries, warnings } = listing;
  if (args.values.follow) return followMode(args.values, partial, world, entries, warnings);
  const matches = matchEntries(entries, world);
  process.stderr.write(`${matchTable(matches, entries)}\n`);
  const found = matches.filter((m) => m.status === 'matched').length;
  const unreadable = matches.filter((m) => m.status === 'unreadable').length;
  for (const w of warnings) process.stderr.write(`discover: warning: ${w}\n`);

  const output = openOutput(args.values.out === undefined ? undefined : fromCaller(args.values.out));
  if (args.values.params) {
    const { params, notes } = paramsDocument(partial, matches);
    output.line(JSON.stringify(params, null, 2));
    for (const n of notes) process.stderr.write(`note: ${n}\n`);
  } else {
    const document = configDocument(partial, matches);
    if (found > 0) parseConfig(document, 'the discovered configuration');
    output.line(JSON.stringify(document, null, 2));
  }
  const wrote = output.close();
  if (wrote !== undefined) process.stderr.write(`discover: ${wrote}\n`);
  if (found === 0) process.stderr.write('discover: no target found\n');
  process.stderr.write(
    'note: to have every entry registered by a Cloud Map name followed at run time instead (those registered later too), run again with --follow\n',
  );
  process.stderr.write(
    `\n${summaryLine({
      entries,
      matches,
      cloudMapServices: world.cloudMapServices.length,
      ecsServices: world.ecsServices.length,
      endless: warnings.length,
    })}\n`,
  );
  return found > 0 && unreadable === 0 && warnings.length === 0 ? 0 : 1;
}

/**
 * `--follow`: the shortest follow configuration (or parameters file) on stdout, checked by the
 * reconciler's parser, and on stderr what follow mode would do with each entry.
 */
async function followMode(
  values: ReturnType<typeof parse>['values'],
  partial: Record<string, unknown>,
  world: Awaited<ReturnType<typeof readWorld>>,
  entries: Awaited<ReturnType<typeof listRegistryEntries>>['entries'],
  warnings: string[],
): Promise<number> {
  const { document, notes } = followDocument(partial);
  const config = parseFollowDocument(document);
  const rows = await followVerdicts(config, world, entries);
  process.stderr.write(`${followTable(rows)}\n`);
  for (const w of warnings) process.stderr.write(`discover: warning: ${w}\n`);
  const output = openOutput(values.out === undefined ? undefined : fromCaller(values.out));
  if (values.params) {
    const { params, notes: paramNotes } = paramsDocument(partial, []);
    output.line(JSON.stringify(followParams(params, partial), null, 2));
    for (const n of paramNotes) process.stderr.write(`note: ${n}\n`);
  } else {
    output.line(JSON.stringify(document, null, 2));
    for (const n of notes) process.stderr.write(`note: ${n}\n`);
  }
  const wrote = output.close();
  if (wrote !== undefined) process.stderr.write(`discover: ${wrote}\n`);
  const failed = rows.filter((r) => r.verdict === 'error').length;
  process.stderr.write(
    `\n${followSummary(
      rows,
      `${world.cloudMapServices.length} Cloud Map services, ${world.ecsServices.length} ECS services; ` +
        `${failed} unreadable, ${warnings.length} list(s) looking endless; no ownership table read (plan reads it)`,
    )}\n`,
  );
  return failed === 0 && warnings.length === 0 ? 0 : 1;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string' },
      params: { type: 'boolean' },
      follow: { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

runCli('discover', main);
