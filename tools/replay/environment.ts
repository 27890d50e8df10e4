import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ReconcilerConfig } from '../../functions/reconciler/config';
import { type EntryRef, NO_COUNT, type RegistryPort } from '../../functions/reconciler/ports';
import type { Reconciler } from '../../functions/reconciler/reconcile';
import type { LoggerLike, MetricsSink } from '../../functions/reconciler/telemetry';
import { createReconciler } from '../../functions/reconciler/wiring';
import { liveReconciler } from '../cli/reconciler';
import { MemoryRegistry, VirtualClock, World, type WorldService } from '../world/world';

/**
 * Where a replay runs: the embedded world (in-process Cloud Map and ECS, a registry seeded from
 * the world file) or the live one (AWS SDK clients on the standard credential chain and
 * `AWS_ENDPOINT_URL_*`, and the registry at the configured URL).
 */
export interface ReplayEnvironment {
  reconciler: Reconciler;
  /** The embedded world, which replayed events change as AWS would; absent when live. */
  world?: World;
  /** Reads and sets entries directly (for checks and for the registry's own resets). */
  registry: ReplayRegistryControl;
  close(): Promise<void>;
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
  /** Builds the registry the reconciler writes to; defaults to an in-memory one. */
  registry?: (
    seed: WorldSeed,
    clock: VirtualClock,
  ) => Promise<{ port: RegistryPort; control: ReplayRegistryControl; close(): Promise<void> }>;
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
  const registry = await (options.registry ?? memoryRegistry)(options.seed, clock);
  const reconciler = createReconciler({
    config: options.config,
    cloudMap: world,
    ecs: world,
    registry: registry.port,
    logger: options.logger,
    metrics: options.metrics,
    sleep: clock.sleep,
    now: clock.now,
  });
  return { reconciler, world, registry: registry.control, close: registry.close };
}

/** The in-memory registry, seeded from the world's records. */
async function memoryRegistry(seed: WorldSeed, clock: VirtualClock) {
  const registry = new MemoryRegistry(clock);
  const disabled = new Set(seed.world.registry.disabled ?? []);
  for (const s of seed.servers) {
    const path = String(s.path);
    registry.seed({ kind: 'server', path }, String(s.proxy_pass_url), !disabled.has(path), s);
  }
  for (const a of seed.agents) registry.seed({ kind: 'agent', path: String(a.path) }, String(a.url), true, a);
  return {
    port: registry,
    control: {
      url: async (ref: EntryRef) => registry.url(ref),
      set: async (ref: EntryRef & { url: string }) => registry.set(ref, ref.url),
    },
    close: async () => undefined,
  };
}

/** The live environment: real SDK clients and the registry at the configured URL (see `liveReconciler`). */
export function liveEnvironment(options: {
  config: ReconcilerConfig;
  logger: LoggerLike;
  metrics: MetricsSink;
}): ReplayEnvironment {
  const { reconciler, client } = liveReconciler(options);
  return {
    reconciler,
    registry: {
      url: async (ref) => (await client.readEntry(ref, NO_COUNT)).url,
      set: async () => {
        throw new Error('registry steps need the embedded world (they change the registry directly)');
      },
    },
    close: async () => undefined,
  };
}
