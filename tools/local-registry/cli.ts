/**
 * Runs the local registry from the command line:
 *
 *   npx tsx tools/local-registry/cli.ts --seed test/fixtures/registry --token dev-token
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { FaultMatch, Faults, ScanVerdict } from './faults';
import { parseCidr } from './policy';
import { loadSeed, type SeedData, seededEnabled } from './seed';
import {
  GENERATIONS,
  type Generation,
  NEWEST_GENERATION,
  type ScanSettings,
  startLocalRegistry,
} from './server';
import type { ListShape, StorageMode } from './store';

const USAGE = `Usage: npx tsx tools/local-registry/cli.ts [options]

A local MCP Gateway Registry on 127.0.0.1 (servers, agents, fake Keycloak token endpoint).

Options:
  --port <n>             port to listen on (default 0: a free port)
  --seed <path>          a JSON file or directory of registry records; repeatable
  --enable <path>        start this seeded server enabled; repeatable
  --disable <path>       start this seeded server disabled; repeatable (seeded servers start
                         enabled unless a server_state.json or the record's is_enabled says not)
  --token <token>        static admin bearer token (default: $LOCAL_REGISTRY_TOKEN, else a random one, printed)
  --client <id:secret>   a Keycloak client for the client-credentials grant; repeatable
  --token-ttl <s>        lifetime of Keycloak tokens in seconds (default 300)
  --generation <g>       1.32 (default), 1.29, 1.0.16, or mainline (the older model: no PATCH, no
                         URL policy); see tools/local-registry/README.md
  --list-shape <shape>   paged (mainline) or v1.0.16 (unpaged {"servers":[...]})
  --no-single-route      answer GET /api/servers/{path} with 404, as v1.0.16 does
  --storage <mode>       documentdb (omitted optional fields survive an overwrite) or file
  --allow-cidr <cidr>    1.29/1.32: an SSRF_ALLOWED_CIDRS range the URL policy admits; repeatable
  --allow-host <name>    1.29/1.32: an SSRF_ALLOWED_HOSTS name; repeatable

Security scan (after register, and after a PATCH that changes proxy_pass_url):
  --scan-unsafe <n>      the next n scans find the server unsafe (* = every scan)
  --scan-error <n>       the next n scans cannot run (1.29 and a default 1.32 treat that as unsafe)
  --scan-delay <ms>      those scans finish that long after the write answered, in the background,
                         saving the entry as it was at the write (default 0: before the answer)
  --scan-tools <a,b>     the tools the scans flag (default: every tool of the record)
  --scan-no-tag          the scans do not add the security-pending tag (SECURITY_ADD_PENDING_TAG=false)
  --allow-unsafe-servers 1.32 SECURITY_ALLOW_UNSAFE_SERVERS=true: an unsafe scan blocks the flagged
                         tools and leaves the server enabled
  --no-block-on-scan-failure
                         1.32 SECURITY_BLOCK_ON_SCAN_FAILURE=false: a scan that cannot run changes nothing
  --no-stale-write-back  the scan writes only its own fields, not the whole entry it was handed

Faults (each repeatable; COUNT is a number or * for every matching request; MATCH is a path
prefix such as /api/servers/register, optionally after a method: POST:/api/servers/register;
without @MATCH a fault applies to every /api/ request):
  --fail <STATUS[xCOUNT][@MATCH]>        answer STATUS with a JSON error body (--fail 503x2)
  --html-error <STATUS[xCOUNT][@MATCH]>  answer STATUS with nginx's HTML error page
  --delay <MS[xCOUNT][@MATCH]>           answer MS milliseconds late
  --drop <COUNT[@MATCH]>                 close the connection without an answer
  --truncate <COUNT[@MATCH]>             send half the answer, then close the connection
  --huge <BYTES[xCOUNT][@MATCH]>         answer 200 with BYTES bytes and no content-length
  --unauthorized <COUNT[@MATCH]>         answer 401 whatever the token
  --register-500 <COUNT>                 register answers 500 {"detail":"Service registration failed"}
                                         with the URL policy passed (a storage error), storing nothing
  --lose-writes <COUNT>                  registrations answer 201 and store nothing
  --help                 show this help
`;

/** One fault switch of the command line, as `armFaults` applies it. */
export type FaultSwitch =
  | { kind: 'fail'; status: number; count: number; html: boolean; match?: FaultMatch }
  | { kind: 'delay'; ms: number; count: number; match?: FaultMatch }
  | { kind: 'drop' | 'truncate' | 'unauthorized'; count: number; match?: FaultMatch }
  | { kind: 'huge'; bytes: number; count: number; match?: FaultMatch }
  | { kind: 'register-500' | 'lose-writes'; count: number }
  | { kind: 'scan'; verdict: ScanVerdict; count: number; delayMs: number; tag: boolean; tools?: string[] };

/** Parses the command line; throws with a message for bad input. */
export function parseCli(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      seed: { type: 'string', multiple: true },
      enable: { type: 'string', multiple: true },
      disable: { type: 'string', multiple: true },
      token: { type: 'string' },
      client: { type: 'string', multiple: true },
      'token-ttl': { type: 'string' },
      'list-shape': { type: 'string' },
      'no-single-route': { type: 'boolean' },
      storage: { type: 'string' },
      generation: { type: 'string' },
      'allow-cidr': { type: 'string', multiple: true },
      'allow-host': { type: 'string', multiple: true },
      'scan-unsafe': { type: 'string' },
      'scan-error': { type: 'string' },
      'scan-delay': { type: 'string' },
      'scan-tools': { type: 'string' },
      'scan-no-tag': { type: 'boolean' },
      'allow-unsafe-servers': { type: 'boolean' },
      'no-block-on-scan-failure': { type: 'boolean' },
      'no-stale-write-back': { type: 'boolean' },
      fail: { type: 'string', multiple: true },
      'html-error': { type: 'string', multiple: true },
      delay: { type: 'string', multiple: true },
      drop: { type: 'string', multiple: true },
      truncate: { type: 'string', multiple: true },
      huge: { type: 'string', multiple: true },
      unauthorized: { type: 'string', multiple: true },
      'register-500': { type: 'string' },
      'lose-writes': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = integer(values.port ?? '0', '--port', 0, 65_535);
  const tokenTtlSeconds = integer(values['token-ttl'] ?? '300', '--token-ttl', 1, 86_400);
  const chosen = oneOf(values.generation ?? NEWEST_GENERATION, '--generation', [
    ...GENERATIONS,
    'mainline',
  ] as const);
  const generation: Generation | undefined = chosen === 'mainline' ? undefined : chosen;
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
  const scan: Partial<ScanSettings> = {};
  if (values['allow-unsafe-servers']) scan.allowUnsafeServers = true;
  if (values['no-block-on-scan-failure']) scan.blockOnScanFailure = false;
  if (values['no-stale-write-back']) scan.staleWriteBack = false;
  if ((scan.allowUnsafeServers || scan.blockOnScanFailure === false) && generation !== '1.32') {
    throw new Error(
      '--allow-unsafe-servers and --no-block-on-scan-failure are 1.32 settings: use --generation 1.32',
    );
  }
  return {
    help: values.help === true,
    port,
    seeds: values.seed ?? [],
    enable: values.enable ?? [],
    disable: values.disable ?? [],
    token: values.token,
    clients,
    tokenTtlSeconds,
    listShape: listShape as ListShape,
    singleRoute: values['no-single-route'] !== true && !old,
    storage: storage as StorageMode,
    generation,
    allowedCidrs,
    allowedHosts: values['allow-host'] ?? [],
    scan,
    faults: faultSwitches(values),
  };
}

function faultSwitches(values: Record<string, string | string[] | boolean | undefined>): FaultSwitch[] {
  const list = (name: string): string[] => {
    const value = values[name];
    return Array.isArray(value) ? value : [];
  };
  const switches: FaultSwitch[] = [];
  for (const spec of list('fail')) {
    const { value, count, match } = faultSpec(spec, '--fail', true);
    switches.push({ kind: 'fail', status: status(value, '--fail'), count, html: false, ...match });
  }
  for (const spec of list('html-error')) {
    const { value, count, match } = faultSpec(spec, '--html-error', true);
    switches.push({ kind: 'fail', status: status(value, '--html-error'), count, html: true, ...match });
  }
  for (const spec of list('delay')) {
    const { value, count, match } = faultSpec(spec, '--delay', true);
    switches.push({ kind: 'delay', ms: integer(value, '--delay', 0, 600_000), count, ...match });
  }
  for (const spec of list('huge')) {
    const { value, count, match } = faultSpec(spec, '--huge', true);
    switches.push({ kind: 'huge', bytes: integer(value, '--huge', 1, 2 ** 31), count, ...match });
  }
  for (const kind of ['drop', 'truncate', 'unauthorized'] as const) {
    for (const spec of list(kind)) {
      const { value, match } = faultSpec(spec, `--${kind}`, false);
      switches.push({ kind, count: countOf(value, `--${kind}`), ...match });
    }
  }
  for (const kind of ['register-500', 'lose-writes'] as const) {
    const value = values[kind];
    if (typeof value === 'string') switches.push({ kind, count: countOf(value, `--${kind}`) });
  }
  const delayText = values['scan-delay'];
  const delayMs = typeof delayText === 'string' ? integer(delayText, '--scan-delay', 0, 3_600_000) : 0;
  const toolsText = values['scan-tools'];
  const tools =
    typeof toolsText === 'string'
      ? toolsText
          .split(',')
          .map((t) => t.trim())
          .filter((t) => t !== '')
      : undefined;
  for (const verdict of ['unsafe', 'error'] as const) {
    const value = values[`scan-${verdict}`];
    if (typeof value !== 'string') continue;
    switches.push({
      kind: 'scan',
      verdict,
      count: countOf(value, `--scan-${verdict}`),
      delayMs,
      tag: values['scan-no-tag'] !== true,
      ...(tools === undefined ? {} : { tools }),
    });
  }
  if (!switches.some((s) => s.kind === 'scan')) {
    for (const flag of ['scan-delay', 'scan-tools', 'scan-no-tag']) {
      if (values[flag] !== undefined) throw new Error(`--${flag} needs --scan-unsafe or --scan-error`);
    }
  }
  return switches;
}

/** `VALUE[xCOUNT][@[METHOD:]PATH]` (with `withValue`), else `COUNT[@[METHOD:]PATH]`; `match` ready to spread. */
function faultSpec(
  spec: string,
  flag: string,
  withValue: boolean,
): { value: string; count: number; match: { match?: FaultMatch } } {
  const at = spec.indexOf('@');
  const head = at < 0 ? spec : spec.slice(0, at);
  let match: { match?: FaultMatch } = {};
  if (at >= 0) {
    const where = spec.slice(at + 1);
    const m = /^(?:([A-Za-z]+):)?(\/\S*)$/.exec(where);
    if (!m?.[2]) {
      throw new Error(`${flag}: the match after @ must be a path (/api/...) or METHOD:/path, got ${where}`);
    }
    match = { match: { path: m[2], ...(m[1] ? { method: m[1].toUpperCase() } : {}) } };
  }
  if (!withValue) return { value: head, count: 0, match };
  const [value = '', countText] = head.split('x');
  return { value, count: countText === undefined ? 1 : countOf(countText, flag), match };
}

function countOf(text: string, flag: string): number {
  return text === '*' ? Number.POSITIVE_INFINITY : integer(text, `${flag} count`, 1, 1_000_000);
}

function status(text: string, flag: string): number {
  return integer(text, `${flag} status`, 100, 599);
}

/** Arms the command line's faults on a running registry. */
export function armFaults(faults: Faults, switches: FaultSwitch[]): void {
  for (const s of switches) {
    const options = 'match' in s && s.match !== undefined ? { match: s.match } : {};
    switch (s.kind) {
      case 'fail':
        faults.failNext(s.count, { status: s.status, html: s.html, ...options });
        break;
      case 'delay':
        faults.delayNext(s.count, s.ms, options);
        break;
      case 'drop':
        faults.dropNext(s.count, options);
        break;
      case 'truncate':
        faults.truncateNext(s.count, options);
        break;
      case 'unauthorized':
        faults.unauthorizedNext(s.count, options);
        break;
      case 'huge':
        faults.hugeBodyNext(s.count, s.bytes, options);
        break;
      case 'register-500':
        faults.registerErrorNext(s.count);
        break;
      case 'lose-writes':
        faults.loseWrites(s.count);
        break;
      case 'scan':
        faults.scanNext(s.count, {
          verdict: s.verdict,
          delayMs: s.delayMs,
          tag: s.tag,
          ...(s.tools === undefined ? {} : { tools: s.tools }),
        });
        break;
    }
  }
}

/** The seed with every server's starting flag: enabled unless the seed says not, then `--enable`/`--disable`. */
export function withStartState(seed: SeedData, enable: string[], disable: string[]): SeedData {
  const state = seededEnabled(seed);
  const known = new Set(Object.keys(state));
  for (const [paths, flag] of [
    [enable, true],
    [disable, false],
  ] as const) {
    for (const path of paths) {
      if (!known.has(path))
        throw new Error(`no seeded server at ${path} (seeded: ${[...known].join(', ') || 'none'})`);
      state[path] = flag;
    }
  }
  return { ...seed, state };
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

function describeScan(scan: ScanSettings): string {
  return [
    scan.allowUnsafeServers ? 'unsafe servers allowed (tools blocked)' : 'unsafe servers disabled',
    scan.blockOnScanFailure ? 'a failed scan disables' : 'a failed scan changes nothing',
    scan.staleWriteBack ? 'stale write-back' : 'no stale write-back',
  ].join(', ');
}

function describeFault(s: FaultSwitch): string {
  const count = s.count === Number.POSITIVE_INFINITY ? 'every' : `next ${s.count}`;
  const where =
    'match' in s && s.match !== undefined
      ? ` on ${s.match.method ? `${s.match.method} ` : ''}${String(s.match.path)}`
      : '';
  switch (s.kind) {
    case 'fail':
      return `${count} ${s.html ? 'HTML ' : ''}${s.status}${where}`;
    case 'delay':
      return `${count} delayed ${s.ms} ms${where}`;
    case 'huge':
      return `${count} ${s.bytes}-byte answer${where}`;
    case 'scan':
      return `${count} scan(s) ${s.verdict}${s.delayMs ? ` after ${s.delayMs} ms` : ''}`;
    case 'drop':
    case 'truncate':
    case 'unauthorized':
      return `${count} ${s.kind}${where}`;
    default:
      return `${count} ${s.kind}`;
  }
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
  const seed = withStartState(loadSeed(cli.seeds), cli.enable, cli.disable);
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
    scan: cli.scan,
    seed,
  });
  armFaults(registry.faults, cli.faults);
  const enabled = registry.serverPaths().filter((p) => registry.isEnabled(p));
  const disabled = registry.serverPaths().filter((p) => !registry.isEnabled(p));
  const lines = [
    `local registry listening on ${registry.url}`,
    `  servers: ${registry.serverPaths().length} (enabled: ${enabled.length}${disabled.length ? `; disabled: ${disabled.join(', ')}` : ''}), agents: ${registry.agentPaths().length}`,
    `  generation: ${cli.generation ?? 'mainline model (no PATCH, no URL policy)'}${cli.allowedCidrs.length ? `, allowed CIDRs: ${cli.allowedCidrs.join(', ')}` : ''}`,
    `  scan: ${describeScan(registry.scan)}; faults armed: ${cli.faults.length ? cli.faults.map(describeFault).join(', ') : 'none'}`,
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
