/**
 * Runs the local registry from the command line:
 *
 *   npx tsx tools/local-registry/cli.ts --seed test/fixtures/registry --token dev-token
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { parseCidr } from './policy';
import { loadSeed } from './seed';
import { startLocalRegistry } from './server';
import type { ListShape, StorageMode } from './store';

const USAGE = `Usage: npx tsx tools/local-registry/cli.ts [options]

A local MCP Gateway Registry on 127.0.0.1 (servers, agents, fake Keycloak token endpoint).

Options:
  --port <n>             port to listen on (default 0: a free port)
  --seed <path>          a JSON file or directory of registry records; repeatable
  --token <token>        static admin bearer token (default: $LOCAL_REGISTRY_TOKEN, else a random one, printed)
  --client <id:secret>   a Keycloak client for the client-credentials grant; repeatable
  --token-ttl <s>        lifetime of Keycloak tokens in seconds (default 300)
  --list-shape <shape>   paged (mainline, default) or v1.0.16 (unpaged {"servers":[...]})
  --no-single-route      answer GET /api/servers/{path} with 404, as v1.0.16 does
  --storage <mode>       documentdb (default: omitted optional fields survive an overwrite) or file
  --generation <g>       1.0.16 or 1.29: speak that registry generation (see tools/local-registry/README.md)
  --allow-cidr <cidr>    1.29: an SSRF_ALLOWED_CIDRS range the URL policy admits; repeatable
  --allow-host <name>    1.29: an SSRF_ALLOWED_HOSTS name; repeatable
  --help                 show this help
`;

/** Parses the command line; throws with a message for bad input. */
export function parseCli(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      seed: { type: 'string', multiple: true },
      token: { type: 'string' },
      client: { type: 'string', multiple: true },
      'token-ttl': { type: 'string' },
      'list-shape': { type: 'string' },
      'no-single-route': { type: 'boolean' },
      storage: { type: 'string' },
      generation: { type: 'string' },
      'allow-cidr': { type: 'string', multiple: true },
      'allow-host': { type: 'string', multiple: true },
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = integer(values.port ?? '0', '--port', 0, 65_535);
  const tokenTtlSeconds = integer(values['token-ttl'] ?? '300', '--token-ttl', 1, 86_400);
  const generation =
    values.generation === undefined
      ? undefined
      : oneOf(values.generation, '--generation', ['1.0.16', '1.29'] as const);
  const old = generation === '1.0.16';
  const listShape = oneOf(values['list-shape'] ?? (old ? 'v1.0.16' : 'paged'), '--list-shape', [
    'paged',
    'v1.0.16',
  ] as const);
  const storage = oneOf(values.storage ?? (old ? 'file' : 'documentdb'), '--storage', [
    'documentdb',
    'file',
  ] as const);
  const allowedCidrs = values['allow-cidr'] ?? [];
  for (const cidr of allowedCidrs) parseCidr(cidr);
  const clients: Record<string, string> = {};
  for (const pair of values.client ?? []) {
    const colon = pair.indexOf(':');
    if (colon <= 0 || colon === pair.length - 1)
      throw new Error(`--client must be <id>:<secret>, got ${pair}`);
    clients[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  return {
    help: values.help === true,
    port,
    seeds: values.seed ?? [],
    token: values.token,
    clients,
    tokenTtlSeconds,
    listShape: listShape as ListShape,
    singleRoute: values['no-single-route'] !== true && !old,
    storage: storage as StorageMode,
    generation,
    allowedCidrs,
    allowedHosts: values['allow-host'] ?? [],
  };
}

function integer(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${flag} must be an integer from ${min} to ${max}`);
  return n;
}

function oneOf<T extends string>(text: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text))
    throw new Error(`${flag} must be one of ${allowed.join(', ')}`);
  return text as T;
}

async function main(): Promise<void> {
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (cli.help) {
    process.stdout.write(USAGE);
    return;
  }
  // A generated token is printed: it exists only for this local process.
  const fromEnv = process.env.LOCAL_REGISTRY_TOKEN;
  const token = cli.token ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  const generated = token === undefined ? randomBytes(18).toString('base64url') : undefined;
  const registry = await startLocalRegistry({
    port: cli.port,
    staticToken: token ?? generated,
    clients: cli.clients,
    tokenTtlSeconds: cli.tokenTtlSeconds,
    listShape: cli.listShape,
    singleRoute: cli.singleRoute,
    storage: cli.storage,
    ...(cli.generation === undefined ? {} : { generation: cli.generation }),
    allowedCidrs: cli.allowedCidrs,
    allowedHosts: cli.allowedHosts,
    seed: loadSeed(cli.seeds),
  });
  const lines = [
    `local registry listening on ${registry.url}`,
    `  servers: ${registry.serverPaths().length}, agents: ${registry.agentPaths().length}`,
    `  generation: ${cli.generation ?? 'mainline model (no PATCH, no URL policy)'}${cli.allowedCidrs.length ? `, allowed CIDRs: ${cli.allowedCidrs.join(', ')}` : ''}`,
    `  list shape: ${cli.listShape}, single-server route: ${cli.singleRoute ? 'on' : 'off'}, storage: ${cli.storage}`,
    `  Keycloak token URL: ${registry.tokenUrl}${Object.keys(cli.clients).length ? ` (clients: ${Object.keys(cli.clients).join(', ')})` : ' (no clients: add --client id:secret)'}`,
    generated === undefined ? '  static token: as given' : `  static token (generated): ${generated}`,
    'press Ctrl+C to stop',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = () => {
    registry.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`local registry failed: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
