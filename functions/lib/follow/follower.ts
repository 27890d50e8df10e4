import type { ReconcilerConfig, TargetConfig } from '../config/config';
import { hostOf, isIPv4, normalizeHost } from '../core/url';
import type { CallContext, EntryRef, RegistryEntry, TargetKind } from '../reconcile/ports';
import { type DiscoverWorld, type EntryMatch, matchEntry } from './match';
import type { OwnerRow, OwnershipPort } from './ownership';
import { type EntryScope, entryScope } from './scope';

/**
 * What the shared rule needs to match an entry whose host names Cloud Map service `name` of the
 * namespace: that service (absent when the namespace has none by that name) and the ECS services
 * of the cluster that publish it, as far as the source can see (aws/follow-world.ts reads them by
 * name, from the service's instances; `wholeWorld` restricts a world read whole).
 */
export interface FollowWorldPort {
  worldOf(name: string, ctx: CallContext): Promise<DiscoverWorld>;
  /** Several names' worlds at once, where the source can share its reads between them. */
  worldsOf?(names: readonly string[], ctx: CallContext): Promise<Map<string, DiscoverWorld>>;
}

/** A source that reads the whole world (discover's, the in-memory ones), asked one name at a time. */
export function wholeWorld(read: (ctx: CallContext) => Promise<DiscoverWorld>): FollowWorldPort {
  return {
    async worldOf(name, ctx) {
      const world = await read(ctx);
      const wanted = normalizeHost(name);
      return {
        ...world,
        cloudMapServices: world.cloudMapServices.filter((s) => normalizeHost(s.name) === wanted),
      };
    },
  };
}

/**
 * The Cloud Map service name an entry's host asks about: the host itself when it has no dot, the
 * part before `.<namespace>` when it ends so; undefined for any other host (an IPv4, a name
 * outside the namespace), which names no service of the namespace.
 */
export function cloudMapNameOf(host: string, namespace: string): string | undefined {
  const h = normalizeHost(host);
  const ns = normalizeHost(namespace);
  if (h === '' || isIPv4(h)) return undefined;
  if (!h.includes('.')) return h;
  if (h.endsWith(`.${ns}`) && h.length > ns.length + 1) return h.slice(0, -(ns.length + 1));
  return undefined;
}

/** One page of a registry list (the fan-out's page reader). */
export interface FollowPages {
  listPage(
    kind: TargetKind,
    offset: number,
    limit: number,
    ctx: CallContext,
  ): Promise<{ entries: RegistryEntry[]; more: boolean }>;
}

/** An entry the reconciler follows without a configured target: how it was found. */
export interface Adoption {
  /** `match`: the entry names a Cloud Map service (the shared rule); `row`: the ownership table ties it. */
  via: 'match' | 'row';
}

/** A target made at run time for an adopted entry (never a configured one). */
export type AdoptedTarget = TargetConfig & { adopted: Adoption };

/** The adoption of a target, or undefined for a configured one. */
export function adoptionOf(target: TargetConfig): Adoption | undefined {
  return (target as Partial<AdoptedTarget>).adopted;
}

export interface FollowerDeps {
  config: ReconcilerConfig;
  ownership: OwnershipPort;
  world: FollowWorldPort;
  now: () => number;
  /** How long the world and an ECS service's rows are kept. */
  ttlMs: number;
}

/** Index queries kept per ECS service (oldest dropped first). */
const ROWS_CACHE_MAX = 256;
/** Names' worlds kept (oldest dropped first). */
const NAMES_CACHE_MAX = 4096;
const LIST_PAGE = 500;

/**
 * How long a name's world may be reused. Always `ttlMs`; a caller that asks often (the names
 * sweep, every minute) may keep the world of a name the rule cannot adopt (no Cloud Map service
 * by that name, several ECS services publishing it, or none of those its instances name: see
 * `unadoptable`) for `keepUnadoptableMs`: such a name is not asked of Cloud Map and ECS again on
 * every sweep. Its world is read afresh by any caller that does not pass this (the full resync,
 * the worker) once `ttlMs` has passed.
 */
export interface CacheUse {
  keepUnadoptableMs?: number;
}

/** A name's world as kept: when it was read, and whether the rule can adopt the name (once read). */
interface KeptWorld {
  at: number;
  world: Promise<DiscoverWorld>;
  unadoptable?: boolean;
}

/**
 * Follow mode's side of planning: which registry entries the reconciler adopts besides the
 * configured targets (which always win for their paths, as do `follow.exclude`'s). An entry is
 * adopted when the shared rule (match.ts) matches it by name, or when its ownership row ties it
 * to an ECS service. Whether an adopted entry may be written is the gate's (gate.ts).
 */
export class Follower {
  private readonly names = new Map<string, KeptWorld>();
  private readonly rows = new Map<string, { at: number; rows: OwnerRow[] }>();
  private readonly scope: (ref: EntryRef) => EntryScope;

  constructor(private readonly deps: FollowerDeps) {
    this.scope = entryScope(deps.config);
  }

  /** Whether follow mode may adopt this entry (not configured, not excluded). */
  mayAdopt(ref: EntryRef): boolean {
    return this.scope(ref) === 'adoptable';
  }

  /** The world of one Cloud Map name (`FollowWorldPort.worldOf`), read at most once per `ttlMs`. */
  worldOf(name: string, ctx: CallContext, use: CacheUse = {}): Promise<DiscoverWorld> {
    const now = this.deps.now();
    const cached = this.names.get(name);
    if (cached !== undefined && this.fresh(cached, now, use)) return cached.world;
    const world = this.deps.world.worldOf(name, ctx);
    this.keep(name, now, world);
    return world;
  }

  private fresh(kept: KeptWorld, now: number, use: CacheUse): boolean {
    const age = now - kept.at;
    if (age < this.deps.ttlMs) return true;
    return use.keepUnadoptableMs !== undefined && kept.unadoptable === true && age < use.keepUnadoptableMs;
  }

  /**
   * Reads the worlds of the names these entries' hosts ask about that are not cached, together
   * (`FollowWorldPort.worldsOf`: a resync page's names share their ECS reads). Later `match`es
   * of those entries are answered from the cache.
   */
  async prefetch(entries: readonly { url?: string }[], ctx: CallContext, use: CacheUse = {}): Promise<void> {
    const source = this.deps.world;
    if (source.worldsOf === undefined) return;
    const namespace = normalizeHost(this.deps.config.namespace);
    const now = this.deps.now();
    const names = new Set<string>();
    for (const e of entries) {
      const name = cloudMapNameOf(hostOf(e.url ?? '') ?? '', namespace);
      const cached = name === undefined ? undefined : this.names.get(name);
      if (name !== undefined && (cached === undefined || !this.fresh(cached, now, use))) names.add(name);
    }
    if (names.size === 0) return;
    const worlds = source.worldsOf([...names], ctx);
    for (const name of names) {
      const world = worlds.then((w) => w.get(name) ?? source.worldOf(name, ctx));
      this.keep(name, now, world);
    }
    await worlds;
  }

  private keep(name: string, at: number, world: Promise<DiscoverWorld>): void {
    const entry: KeptWorld = { at, world };
    this.names.delete(name);
    if (this.names.size >= NAMES_CACHE_MAX) {
      const oldest = this.names.keys().next().value;
      if (oldest !== undefined) this.names.delete(oldest);
    }
    this.names.set(name, entry);
    // A failed read is not kept.
    world.then(
      (w) => {
        entry.unadoptable = unadoptable(name, w);
      },
      () => {
        if (this.names.get(name) === entry) this.names.delete(name);
      },
    );
  }

  /**
   * The shared rule's verdict on one listed entry. A host that names a Cloud Map service of the
   * namespace is matched against that name's world (its service and the ECS services publishing
   * it: a bounded read, cached per name); any other host (an IPv4, a dotted host outside the
   * namespace) is decided without reading AWS.
   */
  async match(
    entry: { kind: TargetKind; path: string; url?: string },
    ctx: CallContext,
    use: CacheUse = {},
  ): Promise<EntryMatch> {
    const namespace = normalizeHost(this.deps.config.namespace);
    const name = cloudMapNameOf(hostOf(entry.url ?? '') ?? '', namespace);
    const world =
      name === undefined
        ? { namespace, cloudMapServices: [], ecsServices: [] }
        : await this.worldOf(name, ctx, use);
    return matchEntry(entry, world);
  }

  /** A target for an entry the rule matched (the entry names its Cloud Map service). */
  fromMatch(m: EntryMatch): AdoptedTarget | undefined {
    if (m.status !== 'matched' || m.cloudMapService === undefined || m.ecsService === undefined)
      return undefined;
    if (!this.mayAdopt(m)) return undefined;
    return target(m.kind, m.path, m.cloudMapService, m.ecsService, 'match');
  }

  /** A target for an entry its ownership row ties to an ECS service. */
  fromRow(row: OwnerRow): AdoptedTarget | undefined {
    if (!this.mayAdopt(row)) return undefined;
    return target(row.kind, row.path, row.cloudMapService, row.ecsService, 'row');
  }

  /** The entries the ownership table ties to an ECS service: one index query per service, cached briefly. */
  async forService(ecsService: string): Promise<AdoptedTarget[]> {
    const now = this.deps.now();
    let cached = this.rows.get(ecsService);
    if (cached === undefined || now - cached.at >= this.deps.ttlMs) {
      cached = { at: now, rows: await this.deps.ownership.byEcsService(ecsService) };
      if (this.rows.size >= ROWS_CACHE_MAX) {
        const oldest = this.rows.keys().next().value;
        if (oldest !== undefined) this.rows.delete(oldest);
      }
      this.rows.delete(ecsService);
      this.rows.set(ecsService, cached);
    }
    return cached.rows.flatMap((r) => {
      const t = this.fromRow(r);
      return t === undefined ? [] : [t];
    });
  }

  /** Forget an ECS service's rows (after this container wrote or released one of them). */
  forget(ecsService: string): void {
    this.rows.delete(ecsService);
  }

  /**
   * The adopted target of one entry (a work message names it by its group): its row when it has
   * one, else the rule's match on the entry as read. Undefined when follow mode does not take it.
   */
  async forEntry(entry: RegistryEntry, ctx: CallContext): Promise<AdoptedTarget | undefined> {
    if (!this.mayAdopt(entry)) return undefined;
    const row = await this.deps.ownership.get(entry);
    if (row !== undefined) return this.fromRow(row);
    return this.fromMatch(await this.match(entry, ctx));
  }

  /**
   * The adopted target of the entry a work message names (by its group): its row when it has one
   * (no registry read), else the rule's match on the entry as read. Undefined when follow mode
   * does not take it.
   */
  async forRef(
    ref: EntryRef,
    read: (ref: EntryRef) => Promise<RegistryEntry>,
    ctx: CallContext,
  ): Promise<AdoptedTarget | undefined> {
    if (!this.mayAdopt(ref)) return undefined;
    const row = await this.deps.ownership.get(ref);
    if (row !== undefined) return this.fromRow(row);
    return this.fromMatch(await this.match(await read(ref), ctx));
  }

  /**
   * Every adopted target (a schedule or a registry restart on the direct path): the registry's
   * entries that the rule matches by name, and those the table holds rows for.
   */
  async everyTarget(
    pages: FollowPages,
    ctx: CallContext,
  ): Promise<{ targets: AdoptedTarget[]; problems: Error[] }> {
    const found = new Map<string, AdoptedTarget>();
    const problems: Error[] = [];
    for (const kind of ['server', 'agent'] as const) {
      for (let offset = 0, more = true; more; ) {
        const page = await pages.listPage(kind, offset, LIST_PAGE, ctx);
        for (const e of page.entries) {
          if (!this.mayAdopt(e)) continue;
          const t = this.fromMatch(await this.match(e, ctx));
          if (t !== undefined) found.set(`${t.kind} ${t.path}`, t);
        }
        more = page.more && page.entries.length > 0;
        offset += page.entries.length;
      }
    }
    try {
      for (const row of await this.deps.ownership.list()) {
        const t = this.fromRow(row);
        if (t !== undefined && !found.has(`${t.kind} ${t.path}`)) found.set(`${t.kind} ${t.path}`, t);
      }
    } catch (error) {
      problems.push(error as Error);
    }
    return { targets: [...found.values()], problems };
  }
}

/**
 * Whether the shared rule refuses the name itself, whatever entry holds it, for a reason that
 * outlasts a sweep (its world as read): no Cloud Map service by that name, several publishers, or
 * ECS services whose tasks Cloud Map lists that do not publish it. Not when no instance names an
 * ECS service of the cluster: that is a service with no task running now (a crash, a first
 * deployment, a scale from zero), which the next sweep may find running.
 */
function unadoptable(name: string, world: DiscoverWorld): boolean {
  const m = matchEntry({ kind: 'server', path: '', url: `http://${name}/` }, world);
  if (m.status === 'no-ecs-service') return world.ecsServices.length > 0;
  return m.status === 'no-cloud-map-service' || m.status === 'ambiguous';
}

function target(
  kind: TargetKind,
  path: string,
  cloudMapService: string,
  ecsService: string,
  via: Adoption['via'],
): AdoptedTarget {
  return { kind, path, cloudMapService, ecsService, port: 'url', adopted: { via } };
}
