import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { VerificationRecord } from '../../functions/fanout/verify';
import { createAwsAdapters } from '../../functions/lib/aws/clients';
import { createFollowAws } from '../../functions/lib/aws/follow';
import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { realSleep } from '../../functions/lib/config/defaults';
import { VirtualClock, World, type WorldService } from '../../functions/lib/inmemory/world';
import type { Ignored } from '../../functions/lib/reconcile/plan';
import { type EntryRef, NO_COUNT } from '../../functions/lib/reconcile/ports';
import { createRegistryClient } from '../../functions/lib/registry/client';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import type { LoggerLike, MetricsSink } from '../../functions/lib/telemetry/telemetry';
import { DeployedPath, type DeployedPathOptions, type PathRegistry, SkippingClock } from './deployed';

/**
 * Where a replay runs: the embedded world (in-process Cloud Map and ECS, a registry seeded from
 * the world file) or the live one (AWS SDK clients on the standard credential chain and
 * `AWS_ENDPOINT_URL_*`, and the registry at the configured URL).
 */
export interface ReplayEnvironment {
  /** The deployed path (fan-out → work queue → worker) over in-memory queues. */
  path: DeployedPath;
  /** What the path reported since the runner last emptied it. */
  seen: Seen;
  /** The embedded world, which replayed events change as AWS would; absent when live. */
  world?: World;
  /** Live: the time the replay's clock skipped to reach delayed messages (absent on real time). */
  skippedMs?: () => number;
  /** Reads and sets entries directly (for checks and for the registry's own resets). */
  registry: ReplayRegistryControl;
  close(): Promise<void>;
}

/** What the deployed path reported, in order: the runner empties it before each step. */
export interface Seen {
  records: DecisionRecord[];
  checks: DecisionRecord[];
  ignored: Ignored[];
  verifications: VerificationRecord[];
  failures: string[];
}

function newSeen(): Seen {
  return { records: [], checks: [], ignored: [], verifications: [], failures: [] };
}

/** The deployed path over the given ports, reporting into `seen`. */
function deployedPath(
  options: Omit<DeployedPathOptions, 'onRecord' | 'onCheck' | 'onIgnored' | 'onVerification' | 'onFailure'>,
): { path: DeployedPath; seen: Seen } {
  const seen = newSeen();
  const path = new DeployedPath({
    ...options,
    onRecord: (r) => seen.records.push(r),
    onCheck: (r) => seen.checks.push(r),
    onIgnored: (i) => seen.ignored.push(i),
    onVerification: (v) => seen.verifications.push(v),
    onFailure: (f) => seen.failures.push(f),
  });
  return { path, seen };
}

export interface ReplayRegistryControl {
  url(ref: EntryRef): Promise<string | undefined>;
  set(ref: EntryRef & { url: string }): Promise<void>;
}

/** The world file (events/world.json). */
export interface WorldFile {
  clusterArn: string;
  namespace: string;
  /** The world's clock at the start of every scenario. */
  now?: string;
  registrationLagMs?: number;
  services: (WorldService & { tasks?: { taskId: string; ipv4: string; startedAt?: string }[] })[];
  registry: {
    /** Server records (files relative to the world file), in the registry's own JSON format. */
    servers: string[];
    /** Agent cards (files relative to the world file). */
    agents: string[];
    /** Paths of servers registered disabled. */
    disabled?: string[];
  };
}

export interface WorldSeed {
  world: WorldFile;
  servers: Record<string, unknown>[];
  agents: Record<string, unknown>[];
}

/** Reads the world file and the registry records it names. Throws naming the file and the bad field. */
export function loadWorld(path: string): WorldSeed {
  const read = (file: string): Record<string, unknown> => {
    try {
      return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`world ${file}: ${(error as Error).message}`);
    }
  };
  const raw = read(path);
  const problem = worldProblem(raw);
  if (problem !== undefined) throw new Error(`world ${path}: ${problem}`);
  const world = raw as unknown as WorldFile;
  const base = dirname(path);
  return {
    world,
    servers: world.registry.servers.map((f) => read(join(base, f))),
    agents: world.registry.agents.map((f) => read(join(base, f))),
  };
}

/** The first field of a world file that does not have its type, as `services.2.port: must be a number`. */
function worldProblem(w: unknown): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(w)) return 'must be a JSON object';
  const str = (v: unknown) => typeof v === 'string' && v !== '';
  if (!str(w.clusterArn)) return 'clusterArn: must be a cluster ARN string';
  if (!str(w.namespace)) return 'namespace: must be a string';
  if (w.now !== undefined && !Number.isFinite(Date.parse(String(w.now))))
    return 'now: must be an ISO-8601 time';
  if (
    w.registrationLagMs !== undefined &&
    !(Number.isInteger(w.registrationLagMs) && (w.registrationLagMs as number) >= 0)
  )
    return 'registrationLagMs: must be a whole number of milliseconds';
  if (!Array.isArray(w.services)) return 'services: must be an array';
  for (const [i, s] of w.services.entries()) {
    if (!isObject(s)) return `services.${i}: must be an object`;
    for (const f of ['ecsService', 'cloudMapService'] as const)
      if (!str(s[f])) return `services.${i}.${f}: must be a string`;
    if (s.port !== undefined && !Number.isInteger(s.port)) return `services.${i}.port: must be a number`;
    if (s.tasks !== undefined && !Array.isArray(s.tasks)) return `services.${i}.tasks: must be an array`;
    for (const [j, t] of ((s.tasks as unknown[]) ?? []).entries()) {
      if (!isObject(t) || !str(t.taskId) || !str(t.ipv4))
        return `services.${i}.tasks.${j}: needs taskId and ipv4 strings`;
    }
  }
  if (!isObject(w.registry)) return 'registry: must be an object';
  for (const f of ['servers', 'agents'] as const) {
    const list = w.registry[f];
    if (!Array.isArray(list) || !list.every(str)) return `registry.${f}: must be an array of file names`;
  }
  return undefined;
}

export interface EmbeddedOptions {
  seed: WorldSeed;
  config: ReconcilerConfig;
  registrationLagMs?: number;
  logger: LoggerLike;
  metrics: MetricsSink;
  /** Builds the registry the deployed path reads and writes (tools/replay/local-registry.ts). */
  registry: (
    seed: WorldSeed,
    clock: VirtualClock,
  ) => Promise<{ port: PathRegistry; control: ReplayRegistryControl; close(): Promise<void> }>;
}

/** A fresh embedded world, seeded from the world file. */
export async function embeddedEnvironment(options: EmbeddedOptions): Promise<ReplayEnvironment> {
  const { world: file } = options.seed;
  const clock = new VirtualClock(file.now === undefined ? undefined : Date.parse(file.now));
  const world = new World({
    clusterArn: file.clusterArn,
    namespace: file.namespace,
    services: file.services.map(({ tasks: _tasks, ...s }) => s),
    clock,
    registrationLagMs: options.registrationLagMs ?? file.registrationLagMs ?? 0,
  });
  for (const s of file.services) for (const t of s.tasks ?? []) world.seedTask(s.ecsService, t);
  const registry = await options.registry(options.seed, clock);
  const { path, seen } = deployedPath({
    config: options.config,
    cloudMap: world,
    ecs: world,
    registry: registry.port,
    reads: registry.port,
    logger: options.logger,
    metrics: options.metrics,
    sleep: clock.sleep,
    now: clock.now,
  });
  return { path, seen, world, registry: registry.control, close: registry.close };
}

/**
 * The live environment: real SDK clients and the registry at the configured URL, built as the
 * Lambdas build them. Delayed messages (a registry restart's re-checks, a write's verifications)
 * run at once on the replay's clock (`SkippingClock`) while the registry's scan runs in real
 * time, so a verification may read the entry before the scan; `realTime` waits them out instead.
 */
export function liveEnvironment(options: {
  config: ReconcilerConfig;
  logger: LoggerLike;
  metrics: MetricsSink;
  realTime?: boolean;
}): ReplayEnvironment {
  const { realTime, ...rest } = options;
  const client = createRegistryClient(options.config.registry, { logger: options.logger });
  const clock = new SkippingClock();
  const { path, seen } = deployedPath({
    ...rest,
    ...createAwsAdapters(),
    // Follow mode: the ownership table and the adopter, as both Lambdas build them.
    follow: createFollowAws(options.config, { maxAttempts: 2 }),
    registry: client,
    reads: client,
    now: realTime ? Date.now : clock.now,
    sleep: realSleep,
    ...(realTime ? {} : { wait: clock.wait }),
  });
  return {
    path,
    seen,
    ...(realTime ? {} : { skippedMs: () => clock.skippedMs() }),
    registry: {
      url: async (ref) => (await client.readEntry(ref, NO_COUNT)).url,
      set: async () => {
        throw new Error('registry steps need the embedded world (they change the registry directly)');
      },
    },
    close: async () => undefined,
  };
}
