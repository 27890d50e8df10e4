/**
 * `npm run try:seed`: builds the replay's embedded world (events/world.json) in a moto_server on
 * this machine, and prints the reconciler configuration (events/config.json with moto's cluster,
 * your local registry and its token variable) for `npm run replay -- --live`, `npm run plan` and
 * `npm run discover`.
 */
import '../cli/quiet-sdk';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { parseConfig } from '../../functions/lib/config/config';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import { fromCaller, readJsonFile } from '../cli/io';
import { openOutput, writeAtomically } from '../cli/out-file';
import { runCli } from '../cli/run';
import { loadWorld } from '../replay/environment';
import { defaultSubnet, seedMotoWorld } from './moto-world';

const ROOT = join(__dirname, '..', '..');

const USAGE = `Usage: npm run try:seed -- --endpoint URL --registry URL [options]

Seeds a moto_server on this machine with the replay's embedded world (events/world.json): the
ECS cluster, a Cloud Map HTTP namespace, one ECS service per Cloud Map service (published through
ServiceRegistries: moto returns no Service Connect configuration), RunTask tasks in each
service's group, and a Cloud Map instance per task (moto's ECS registers none). Then prints the
reconciler configuration to use (events/config.json, with moto's cluster and your registry).

Options:
  --endpoint URL      the moto_server, http://127.0.0.1:PORT or http://localhost:PORT (required;
                      nothing else is accepted: this never talks to AWS)
  --registry URL      the registry the configuration names (required), e.g. the local registry
                      (npx tsx tools/local-registry/cli.ts)
  --token-env NAME    the environment variable holding the registry's token (default
                      REGISTRY_TOKEN)
  --region REGION     default: $AWS_REGION, else us-west-2
  --out FILE          write the configuration to FILE instead of stdout, whole at the end
  --events FILE       also write events to replay: a scheduled resync, then a RUNNING task state
                      change for each task of a target's service
  -h, --help          show this help

moto ages ECS tasks one step towards STOPPED on each DescribeTasks unless told not to: freeze it
first (POST /moto-api/state-manager/set-transition, see the README). The tasks' IPs are moto's
(random 10.x.y.z): a registry with a URL policy must allow 10.0.0.0/8.

Exit status: 0 when seeded; 1 when moto could not be seeded (already seeded, not reachable);
2 on bad usage.`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      endpoint: { type: 'string' },
      registry: { type: 'string' },
      'token-env': { type: 'string', default: 'REGISTRY_TOKEN' },
      region: { type: 'string' },
      out: { type: 'string' },
      events: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A loopback http(s) URL, or the reason it is not one. */
function loopback(url: string, what: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${what} ${JSON.stringify(url)} is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${what} must be http(s)`;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) {
    return `${what} must be on this machine (127.0.0.1 or localhost), not ${parsed.hostname}`;
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    process.stderr.write(`try:seed: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { endpoint, registry } = args.values;
  const tokenEnv = args.values['token-env'];
  const problems = [
    endpoint === undefined ? '--endpoint is required' : loopback(endpoint, '--endpoint'),
    registry === undefined ? '--registry is required' : undefined,
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0 || endpoint === undefined || registry === undefined) {
    process.stderr.write(`try:seed: ${problems.join('; ')}\n\n${USAGE}\n`);
    return 2;
  }
  const region = args.values.region ?? (process.env.AWS_REGION || 'us-west-2');
  const base = endpoint.replace(/\/+$/, '');

  const seed = loadWorld(join(ROOT, 'events', 'world.json'));
  const template = readJsonFile(join(ROOT, 'events', 'config.json'), 'configuration') as Record<
    string,
    unknown
  >;
  const clusterName = seed.world.clusterArn.slice(seed.world.clusterArn.indexOf('cluster/') + 8);
  const config = {
    // moto is the only AWS this talks to: fixed dummy credentials, whatever the environment holds.
    region,
    endpoint: base,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    disableHostPrefix: true,
    maxAttempts: 1,
  };
  const subnet = await defaultSubnet(base, region);
  const world = await seedMotoWorld(
    { ecs: new ECSClient(config), cloudMap: new ServiceDiscoveryClient(config) },
    {
      cluster: clusterName,
      namespace: seed.world.namespace,
      subnet: subnet.id,
      services: seed.world.services.map((s) => ({
        cloudMap: s.cloudMapService,
        ecs: [s.ecsService],
        tasks: s.tasks?.length ?? 0,
        port: String(s.port),
      })),
    },
  );
  const document = {
    ...template,
    cluster: world.clusterArn,
    registry: { url: registry, auth: { type: 'static', tokenEnv } },
  };
  parseConfig(document, 'the configuration');

  if (args.values.events !== undefined) {
    const targets = new Set(
      ((template.targets ?? []) as { cloudMapService?: string }[]).map((t) => t.cloudMapService),
    );
    const now = Date.now();
    const at = (i: number) => new Date(now + i * 1_000).toISOString();
    const events = [
      scheduledEvent('try-resync-0000-4000-8000-000000000000', at(0)),
      ...world.tasks
        .filter((t) => targets.has(t.cloudMapService))
        .map((t, i) =>
          taskEvent({
            clusterArn: world.clusterArn,
            taskId: t.taskId,
            service: t.ecsService,
            lastStatus: 'RUNNING',
            desiredStatus: 'RUNNING',
            version: 2,
            ipv4: t.ip,
            time: at(i + 1),
            id: `try-${String(i + 1).padStart(4, '0')}-0000-4000-8000-000000000000`,
          }),
        ),
    ];
    const file = fromCaller(args.values.events);
    writeAtomically(file, `${JSON.stringify(events, null, 2)}\n`);
    process.stderr.write(`try:seed: wrote ${events.length} events to ${file}\n`);
  }

  const output = openOutput(args.values.out === undefined ? undefined : fromCaller(args.values.out));
  output.line(JSON.stringify(document, null, 2));
  const wrote = output.close();
  if (wrote !== undefined) process.stderr.write(`try:seed: ${wrote}\n`);
  process.stderr.write(
    `try:seed: seeded ${base}: cluster ${world.clusterArn}, namespace ${seed.world.namespace}, ` +
      `${Object.keys(world.cloudMapArns).length} services, ${world.tasks.length} task(s) (` +
      world.tasks.map((t) => `${t.cloudMapService} ${t.ip}`).join(', ') +
      `); registry ${registry}, token in $${tokenEnv}\n`,
  );
  return 0;
}

runCli('try:seed', main);
