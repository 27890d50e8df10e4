import { FOLLOW_CACHE_TTL_MS } from '../../functions/lib/aws/follow';
import { type DescribeServices, FollowWorldAdapter } from '../../functions/lib/aws/follow-world';
import { OWNERSHIP_INDEX_KEY, OWNERSHIP_KEY } from '../../functions/lib/aws/ownership-table';
import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { Follower } from '../../functions/lib/follow/follower';
import {
  MemoryOwnership,
  type OwnerRow,
  type OwnershipPort,
  ownerKey,
} from '../../functions/lib/follow/ownership';
import type { MemoryRegistry } from '../../functions/lib/inmemory/world';
import type { CloudMapPort, EntryRef, TargetKind } from '../../functions/lib/reconcile/ports';
import { hostOf, isIPv4 } from '../../functions/lib/url';
import { invocationScope, type WriteAttempt } from './adapters';
import type { Cluster } from './cluster';
import type { Observer } from './measures';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/**
 * Follow mode in the simulation: a configuration that lists no targets, a registry whose entries
 * are registered at run time (by name, by hand with a private IP, with a foreign host), a person
 * who re-points some adopted entries, the ownership table (the product's in-memory store behind
 * the port the DynamoDB adapter implements, with DynamoDB's request units counted), and the
 * product's own Follower and FollowWorldAdapter (over the simulated Cloud Map and ECS).
 * The rules are the product's; this file only drives the world and judges what was written.
 */

export interface FollowSpec {
  /** Share of the entries registered by name before the run starts. */
  atStartShare: number;
  /** The other entries are registered at random times in [0, registerWithinMs). */
  registerWithinMs: number;
  /** Share of the entries a person registers with a private IPv4 (a task's address, copied). */
  handSetShare: number;
  /** Share of the entries registered with a host outside the namespace. */
  foreignShare: number;
  /**
   * Share of the entries registered with a name of the namespace that no Cloud Map service has
   * (a typo, a service not created yet): never adopted; the names sweep asks about it again only
   * after a resync period. @default 0
   */
  unadoptableShare?: number;
  /** Share of the entries registered by name that a person re-points after the reconciler owns them. */
  repointShare: number;
  /** How long after the adoption the person re-points, [min, max] ms. */
  repointAfterMs: readonly [number, number];
  /**
   * The entries registered by name before the start were adopted by the reconciler before it too
   * (a steady state): each names its service's newest task, and the table holds its row.
   */
  adoptedAtStart?: boolean;
}

/** How an entry was registered, and what the reconciler may do with it. */
export type EntryClass = 'named' | 'hand-set' | 'foreign' | 'unadoptable';

export interface FollowEntry {
  ref: EntryRef;
  ecsService: string;
  cloudMapService: string;
  port: number;
  cls: EntryClass;
  /** Registered at (virtual ms); undefined until it is. */
  registeredAt?: number;
  /** First time it named a live task of its service after its registration. */
  adoptedAt?: number;
  /** Adopted before the run (steady state): not counted in the adoption figures. */
  preAdopted?: boolean;
  /** The person re-points it at this time after adoption (planned). */
  repointAfter?: number;
  repointedAt?: number;
  /** The last address the reconciler wrote that nobody changed since (the judge's own record). */
  ours?: string;
  writes: number;
}

/** A write the judge found the reconciler had no right to make. */
export interface OwnershipViolation {
  at: number;
  path: string;
  cls: EntryClass | 'released';
  url: string;
  current: string;
}

/** DynamoDB request units, by operation (on-demand billing). */
export interface TableUnits {
  getItem: { calls: number; rru: number };
  putItem: { calls: number; conditionFailed: number; wru: number };
  deleteItem: { calls: number; conditionFailed: number; wru: number };
  query: { calls: number; items: number; rru: number };
  scan: { calls: number; items: number; rru: number };
  /** Rows at the end, and their bytes (table + index, each with DynamoDB's 100-byte overhead). */
  rows: number;
  storageBytes: number;
}

/** A DynamoDB item's size as billed: attribute names plus values (UTF-8; numbers about 1 byte per 2 digits + 1). */
export function itemBytes(row: OwnerRow): number {
  const attrs: [string, string | number][] = [
    [OWNERSHIP_KEY, ownerKey(row)],
    ['kind', row.kind],
    ['path', row.path],
    ['cloudMapService', row.cloudMapService],
    [OWNERSHIP_INDEX_KEY, row.ecsService],
    ['registeredUrl', row.registeredUrl],
    ['writtenUrl', row.writtenUrl],
    ...(row.previousUrl === undefined ? [] : ([['previousUrl', row.previousUrl]] as [string, string][])),
    ['at', row.at],
    ['version', row.version],
  ];
  let bytes = 0;
  for (const [name, value] of attrs) {
    bytes += Buffer.byteLength(name);
    bytes += typeof value === 'number' ? Math.ceil(String(value).length / 2) + 1 : Buffer.byteLength(value);
  }
  return bytes;
}

const KB = 1024;
const readUnits = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / (4 * KB))) * (consistent ? 1 : 0.5);
const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));

/**
 * The ownership table as the product's in-memory store (MemoryOwnership, the same conditions as
 * DynamoDB's), behind DynamoDB's latency, counting what each call the DynamoDB adapter
 * (aws/ownership-table.ts) would make costs: GetItem and Scan strongly consistent, the index
 * Query eventually consistent (a GSI offers nothing else); a conditional write is billed even when
 * its condition fails; every successful write also writes the index (projection ALL), a delete
 * removes the index entry.
 */
export class CountingOwnership implements OwnershipPort {
  readonly units: TableUnits = {
    getItem: { calls: 0, rru: 0 },
    putItem: { calls: 0, conditionFailed: 0, wru: 0 },
    deleteItem: { calls: 0, conditionFailed: 0, wru: 0 },
    query: { calls: 0, items: 0, rru: 0 },
    scan: { calls: 0, items: 0, rru: 0 },
    rows: 0,
    storageBytes: 0,
  };
  /** Rows deleted because someone changed their entry (the gate's release). */
  readonly released: string[] = [];

  constructor(
    readonly store: MemoryOwnership,
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly latencyMs: readonly [number, number] = [3, 12],
  ) {}

  get table(): string {
    return this.store.table;
  }

  async get(ref: EntryRef): Promise<OwnerRow | undefined> {
    await this.wait();
    const row = await this.store.get(ref);
    this.units.getItem.calls++;
    this.units.getItem.rru += readUnits(row === undefined ? 0 : itemBytes(row), true);
    return row;
  }

  async put(row: Omit<OwnerRow, 'version'>, expectedVersion: number | undefined): Promise<boolean> {
    await this.wait();
    const ok = await this.store.put(row, expectedVersion);
    const bytes = itemBytes({ ...row, version: (expectedVersion ?? 0) + 1 });
    this.units.putItem.calls++;
    if (!ok) this.units.putItem.conditionFailed++;
    // The table's write, and the index's when it succeeded.
    this.units.putItem.wru += writeUnits(bytes) * (ok ? 2 : 1);
    return ok;
  }

  async release(ref: EntryRef, expectedVersion: number): Promise<boolean> {
    await this.wait();
    const before = this.store.rows.get(ownerKey(ref));
    const ok = await this.store.release(ref, expectedVersion);
    const bytes = before === undefined ? 0 : itemBytes(before);
    this.units.deleteItem.calls++;
    if (!ok) this.units.deleteItem.conditionFailed++;
    this.units.deleteItem.wru += writeUnits(bytes) * (ok ? 2 : 1);
    if (ok) this.released.push(ref.path);
    return ok;
  }

  async byEcsService(ecsService: string): Promise<OwnerRow[]> {
    await this.wait();
    const rows = await this.store.byEcsService(ecsService);
    this.units.query.calls++;
    this.units.query.items += rows.length;
    this.units.query.rru += readUnits(
      rows.reduce((a, r) => a + itemBytes(r), 0),
      false,
    );
    return rows;
  }

  async list(): Promise<OwnerRow[]> {
    await this.wait();
    const rows = await this.store.list();
    this.units.scan.calls++;
    this.units.scan.items += rows.length;
    this.units.scan.rru += readUnits(
      rows.reduce((a, r) => a + itemBytes(r), 0),
      true,
    );
    return rows;
  }

  /** Rows and storage now (table and index copies, 100 bytes of overhead each). */
  snapshot(): TableUnits {
    const rows = [...this.store.rows.values()];
    return {
      ...structuredClone(this.units),
      rows: rows.length,
      storageBytes: rows.reduce((a, r) => a + 2 * (itemBytes(r) + 100), 0),
    };
  }

  private async wait(): Promise<void> {
    if (invocationScope.getStore()?.dead === true) throw new Error('the invocation timed out');
    await this.sched.sleep(this.rng.ms(this.latencyMs));
  }
}

/**
 * The product's FollowWorldAdapter over the simulated account: DiscoverInstances of the name
 * (instances carry the `DeploymentId` ECS writes for Service Connect, functions/lib/inmemory/world.ts),
 * DescribeServices of the ECS services they name (ten a call), GetService of registry ARNs, all
 * through the simulation's AWS ports (latency, the published limits). `calls` counts them by API.
 */
export function simFollowWorld(deps: {
  aws: Pick<CloudMapPort, 'discoverInstances' | 'serviceNameByArn'> & {
    describeServices: DescribeServices['describeServices'];
  };
  clusterArn: string;
  namespace: string;
  /** The simulation's clock (the adapter's batching window). */
  sleep: (ms: number) => Promise<void>;
  /** Counts the calls (by API name). */
  calls: Record<string, number>;
}): FollowWorldAdapter {
  const count = (api: string) => {
    deps.calls[api] = (deps.calls[api] ?? 0) + 1;
  };
  const { aws } = deps;
  return new FollowWorldAdapter(
    {
      discoverInstances: (namespace, service, ctx) => {
        count('cloudmap.DiscoverInstances');
        return aws.discoverInstances(namespace, service, ctx);
      },
      serviceNameByArn: (arn, ctx) => {
        count('cloudmap.GetService');
        return aws.serviceNameByArn(arn, ctx);
      },
    },
    {
      describeServices: (cluster, names, ctx) => {
        deps.calls['ecs.DescribeServices'] =
          (deps.calls['ecs.DescribeServices'] ?? 0) + Math.ceil(names.length / 10);
        return aws.describeServices(cluster, names, ctx);
      },
    },
    deps.clusterArn,
    deps.namespace,
    { sleep: deps.sleep },
  );
}

/** One container's follow side: the shared table, and its own Follower (caches are per container). */
export function followOf(
  config: ReconcilerConfig,
  ownership: OwnershipPort,
  world: FollowWorldAdapter,
  now: () => number,
): { ownership: OwnershipPort; follower: Follower } {
  return { ownership, follower: new Follower({ config, ownership, world, now, ttlMs: FOLLOW_CACHE_TTL_MS }) };
}

export interface FollowFigures {
  entries: Record<EntryClass, number>;
  registered: number;
  /** Entries adopted before the run (steady-state scenarios). */
  adoptedBefore: number;
  /** Entries registered by name (and their service has a live task) never pointed at a live task. */
  neverAdopted: string[];
  /** From registration to the first write naming a live task, for entries registered by name. */
  adoption: { count: number; p50Ms: number; p99Ms: number; maxMs: number; overPeriod: number };
  repointed: number;
  /** Of those, whose row is still in the table at the end (must be 0). */
  repointedStillOwned: string[];
  /** Rows the gate released (someone changed the entry). */
  released: number;
  /** Writes to entries the table does not give the reconciler: hand-set, foreign, released (must be 0). */
  notOwnedWrites: number;
  violations: OwnershipViolation[];
  rowsAtEnd: number;
  table: TableUnits;
  worldCalls: Record<string, number>;
}

/**
 * The entries of a follow scenario and the judge of every write to them: a write is allowed only
 * while the entry names its Cloud Map service (registered by name, or put back so by the
 * registry) or still holds the address the reconciler itself wrote last, which nobody changed
 * since. Independent of the product's table: it is what the table must guarantee.
 */
export class FollowHarness {
  readonly entries: FollowEntry[] = [];
  private readonly byPath = new Map<string, FollowEntry>();
  readonly violations: OwnershipViolation[] = [];
  observer: Observer | undefined;

  constructor(
    private readonly deps: {
      spec: FollowSpec;
      rng: Rng;
      sched: Scheduler;
      memory: MemoryRegistry;
      cluster: Cluster;
      namespace: string;
      periodMs: number;
    },
    services: readonly {
      ecsService: string;
      cloudMapService: string;
      port: number;
      target?: { kind: TargetKind; path: string; builtIn?: string };
    }[],
  ) {
    const { spec, rng } = deps;
    for (const s of services) {
      if (s.target === undefined) continue;
      const builtIn = s.target.builtIn !== undefined;
      const roll = rng.next();
      const cls: EntryClass = builtIn
        ? 'named'
        : roll < spec.handSetShare
          ? 'hand-set'
          : roll < spec.handSetShare + spec.foreignShare
            ? 'foreign'
            : roll < spec.handSetShare + spec.foreignShare + (spec.unadoptableShare ?? 0)
              ? 'unadoptable'
              : 'named';
      const entry: FollowEntry = {
        ref: { kind: s.target.kind, path: s.target.path },
        ecsService: s.ecsService,
        cloudMapService: s.cloudMapService,
        port: s.port,
        cls,
        writes: 0,
      };
      if (cls === 'named' && !builtIn && rng.chance(spec.repointShare))
        entry.repointAfter = rng.ms(spec.repointAfterMs);
      this.entries.push(entry);
      this.byPath.set(entry.ref.path, entry);
    }
  }

  /**
   * Schedules the registrations (`at`: virtual ms from the start). With `adoptedAtStart`, the
   * entries registered by name before the start are put where a previous run left them (`table`).
   */
  plan(at: (ms: number, action: () => void) => void, table: MemoryOwnership): void {
    const { spec, rng } = this.deps;
    for (const e of this.entries) {
      const start = e.ref.path === '/airegistry-tools/' || rng.chance(spec.atStartShare);
      const when = start ? 0 : rng.int(1, spec.registerWithinMs);
      if (!start) at(when, () => this.register(e));
      else if (spec.adoptedAtStart === true && e.cls === 'named') this.adoptedBefore(e, table);
      else this.register(e);
    }
  }

  /** An entry registered by name and adopted before the run: at its service's newest task, with its row. */
  private adoptedBefore(e: FollowEntry, table: MemoryOwnership): void {
    const { memory, sched, cluster } = this.deps;
    const newest = [...cluster.live(e.ecsService)].sort((a, b) =>
      (a.startedAt ?? '') < (b.startedAt ?? '') ? 1 : -1,
    )[0];
    if (newest === undefined) {
      this.register(e);
      return;
    }
    const byName = `http://${e.cloudMapService}:${e.port}/`;
    const url = `http://${newest.ipv4}:${e.port}/`;
    memory.seed(e.ref, url, true, e.ref.kind === 'server' ? { mcp_endpoint: `${url}mcp` } : {});
    void table.put(
      {
        ...e.ref,
        cloudMapService: e.cloudMapService,
        ecsService: e.ecsService,
        registeredUrl: byName,
        writtenUrl: url,
        at: new Date(sched.now()).toISOString(),
      },
      undefined,
    );
    e.registeredAt = sched.now();
    e.adoptedAt = sched.now();
    e.preAdopted = true;
    e.ours = url;
    this.observer?.resume(e.ref.path);
    if (e.repointAfter !== undefined) sched.after(e.repointAfter, () => this.repoint(e));
  }

  entry(path: string): FollowEntry | undefined {
    return this.byPath.get(path);
  }

  private register(e: FollowEntry): void {
    const { memory, sched, cluster, rng } = this.deps;
    let url: string;
    if (e.cls === 'named') url = `http://${e.cloudMapService}:${e.port}/`;
    else if (e.cls === 'foreign') url = `https://mcp.partner.example.com/${e.cloudMapService}/`;
    else if (e.cls === 'unadoptable') url = `http://${e.cloudMapService}-next:${e.port}/`;
    else {
      // A person copied the address of a task of the service (or, with none, made one up).
      const live = cluster.live(e.ecsService);
      const ip = live.length > 0 ? rng.pick(live).ipv4 : `10.250.${rng.int(0, 255)}.${rng.int(1, 254)}`;
      url = `http://${ip}:${e.port}/`;
    }
    memory.seed(e.ref, url, true, e.ref.kind === 'server' ? { mcp_endpoint: `${url}mcp` } : {});
    e.registeredAt = sched.now();
    this.observer?.entryChanged(e.ref.path);
  }

  /** The judge, when the reconciler calls the registry to write. */
  decided(attempt: WriteAttempt): void {
    const e = this.byPath.get(attempt.ref.path);
    if (e === undefined) return;
    e.writes++;
    const current = this.deps.memory.url(attempt.ref) ?? '';
    const host = (hostOf(current) ?? '').toLowerCase();
    const byName =
      host === e.cloudMapService.toLowerCase() ||
      host === `${e.cloudMapService}.${this.deps.namespace}`.toLowerCase();
    if (byName || (e.ours !== undefined && current === e.ours)) return;
    this.violations.push({
      at: this.deps.sched.now(),
      path: e.ref.path,
      cls: e.repointedAt !== undefined ? 'released' : e.cls,
      url: attempt.url,
      current,
    });
  }

  /** A write landed: it is ours until someone changes the entry; the first naming a live task adopts it. */
  landed(attempt: WriteAttempt): void {
    const e = this.byPath.get(attempt.ref.path);
    if (e === undefined) return;
    e.ours = attempt.url;
    if (e.adoptedAt !== undefined || e.registeredAt === undefined || e.cls !== 'named') return;
    const host = hostOf(attempt.url) ?? '';
    const task = isIPv4(host) ? this.deps.cluster.taskByIp(host) : undefined;
    if (task === undefined || task.service !== e.ecsService) return;
    if (!(task.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING')) return;
    e.adoptedAt = this.deps.sched.now();
    this.observer?.resume(e.ref.path);
    if (e.repointAfter !== undefined) this.deps.sched.after(e.repointAfter, () => this.repoint(e));
  }

  /** The registry put an entry back by itself (its start-up reset of the built-in ones). */
  reset(path: string): void {
    const e = this.byPath.get(path);
    if (e !== undefined) e.ours = undefined;
  }

  /** A person points the entry elsewhere: it is theirs from now on. */
  private repoint(e: FollowEntry): void {
    const { memory, sched, rng } = this.deps;
    const url = rng.chance(0.5)
      ? `http://10.240.${rng.int(0, 255)}.${rng.int(1, 254)}:${e.port}/`
      : `https://${e.cloudMapService}.team.example.org/`;
    this.observer?.pause(e.ref.path);
    memory.set(e.ref, url);
    e.ours = undefined;
    e.repointedAt = sched.now();
    this.observer?.entryChanged(e.ref.path);
  }

  figures(ownership: CountingOwnership, worldCalls: Record<string, number>): FollowFigures {
    const { cluster, periodMs } = this.deps;
    const count = (c: EntryClass) => this.entries.filter((e) => e.cls === c).length;
    const named = this.entries.filter(
      (e) => e.cls === 'named' && e.registeredAt !== undefined && e.preAdopted !== true,
    );
    const latencies = named
      .filter((e) => e.adoptedAt !== undefined)
      .map((e) => (e.adoptedAt as number) - (e.registeredAt as number))
      .sort((a, b) => a - b);
    const q = (p: number) =>
      latencies.length === 0
        ? 0
        : (latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] as number);
    const repointed = this.entries.filter((e) => e.repointedAt !== undefined);
    return {
      entries: {
        named: count('named'),
        'hand-set': count('hand-set'),
        foreign: count('foreign'),
        unadoptable: count('unadoptable'),
      },
      registered: this.entries.filter((e) => e.registeredAt !== undefined).length,
      adoptedBefore: this.entries.filter((e) => e.preAdopted === true).length,
      neverAdopted: named
        .filter((e) => e.adoptedAt === undefined && cluster.live(e.ecsService).length > 0)
        .map((e) => e.ref.path),
      adoption: {
        count: latencies.length,
        p50Ms: q(0.5),
        p99Ms: q(0.99),
        maxMs: latencies.at(-1) ?? 0,
        overPeriod: latencies.filter((ms) => ms > periodMs).length,
      },
      repointed: repointed.length,
      repointedStillOwned: repointed
        .filter((e) => ownership.store.rows.has(ownerKey(e.ref)))
        .map((e) => e.ref.path),
      released: ownership.released.length,
      notOwnedWrites: this.violations.length,
      violations: this.violations.slice(0, 5),
      rowsAtEnd: ownership.store.rows.size,
      table: ownership.snapshot(),
      worldCalls,
    };
  }
}

/** On-demand DynamoDB prices used for the cost figures (see docs/operate.md). */
export const DYNAMODB_PRICES = {
  region: 'us-east-1',
  /** USD per million read request units / write request units, per GB-month of storage / of PITR. */
  perMillionRru: 0.125,
  perMillionWru: 0.625,
  storagePerGbMonth: 0.25,
  pitrPerGbMonth: 0.2,
};

export interface TableCost {
  rruPerDay: number;
  wruPerDay: number;
  /** USD. */
  requestsPerDay: number;
  storagePerMonth: number;
  perMonth: number;
}

/** The run's request units scaled to a day, and their cost (30-day month). */
export function tableCost(units: TableUnits, simulatedMs: number): TableCost {
  const perDay = 86_400_000 / Math.max(1, simulatedMs);
  const rru = (units.getItem.rru + units.query.rru + units.scan.rru) * perDay;
  const wru = (units.putItem.wru + units.deleteItem.wru) * perDay;
  const p = DYNAMODB_PRICES;
  const requestsPerDay = (rru / 1e6) * p.perMillionRru + (wru / 1e6) * p.perMillionWru;
  const gb = units.storageBytes / 1024 ** 3;
  const storagePerMonth = gb * (p.storagePerGbMonth + p.pitrPerGbMonth);
  return {
    rruPerDay: Math.round(rru),
    wruPerDay: Math.round(wru),
    requestsPerDay,
    storagePerMonth,
    perMonth: requestsPerDay * 30 + storagePerMonth,
  };
}

export { MemoryOwnership };
