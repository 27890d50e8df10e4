import { RetryableError } from '../errors';
import type { EntryRef } from '../reconcile/ports';

/**
 * Durable ownership of adopted registry entries, in the manner of external-dns's registry: a row
 * per entry the reconciler wrote, next to the data it describes. An entry holding an IPv4 is ours
 * only when its row says we wrote exactly that address. Every write is a compare-and-swap on the
 * row's `version`, so two invocations never lose each other's update.
 */

/** One owned entry. */
export interface OwnerRow extends EntryRef {
  /** The Cloud Map service (bare name) the entry was registered by. */
  cloudMapService: string;
  /** The ECS service that publishes it (the index key: a task event of it reaches the entry). */
  ecsService: string;
  /** The address the entry was registered with (by name): what `release` writes back. */
  registeredUrl: string;
  /** The address the reconciler wrote last. */
  writtenUrl: string;
  /**
   * The address written before `writtenUrl`, while a move is in flight: the row is updated before
   * the registry write, so a write that failed leaves the entry on this one, still ours.
   */
  previousUrl?: string;
  /** When the row was last written (ISO 8601). */
  at: string;
  /** Incremented by every write; the condition of the next one. */
  version: number;
}

/** The table that holds the rows (functions/lib/aws/ownership-table.ts, or in memory). */
export interface OwnershipPort {
  /** The table's name, for every message about it. */
  readonly table: string;
  /** The row of one entry, or undefined when the reconciler does not own it. */
  get(ref: EntryRef): Promise<OwnerRow | undefined>;
  /**
   * Writes `row` (with `version` = `expectedVersion + 1`, or 1 on a first write) only when the
   * stored row's version is still `expectedVersion` (undefined: no row yet). False when another
   * writer got there first; nothing is then written.
   */
  put(row: Omit<OwnerRow, 'version'>, expectedVersion: number | undefined): Promise<boolean>;
  /** Deletes the row only when its version is still `expectedVersion`; false otherwise. */
  release(ref: EntryRef, expectedVersion: number): Promise<boolean>;
  /** The rows whose entries an ECS service backs (one query of the index). */
  byEcsService(ecsService: string): Promise<OwnerRow[]>;
  /** Every row (the release tool). */
  list(): Promise<OwnerRow[]>;
}

/** The ownership table could not be read or written: the entry's work stops, and is retried. */
export class OwnershipTableError extends RetryableError {
  constructor(
    readonly table: string,
    what: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`ownership table ${table}: cannot ${what}: ${reason}`, { cause });
  }
}

/** The key of an entry's row. */
export function ownerKey(ref: EntryRef): string {
  return `${ref.kind}#${ref.path}`;
}

/**
 * The table in memory, for the replay's embedded world, the simulation and the tests. Same
 * conditions as DynamoDB's; `failWith` makes every call fail as an unreachable table would.
 */
export class MemoryOwnership implements OwnershipPort {
  readonly rows = new Map<string, OwnerRow>();
  /** When set, every call throws it (wrapped as the adapter wraps SDK errors). */
  failWith: Error | undefined;
  /** Calls by kind, for the figures. */
  readonly calls = { reads: 0, writes: 0, queries: 0 };

  constructor(readonly table = 'memory') {}

  async get(ref: EntryRef): Promise<OwnerRow | undefined> {
    this.check('read the row');
    this.calls.reads++;
    const row = this.rows.get(ownerKey(ref));
    return row === undefined ? undefined : { ...row };
  }

  async put(row: Omit<OwnerRow, 'version'>, expectedVersion: number | undefined): Promise<boolean> {
    this.check('write the row');
    this.calls.writes++;
    const stored = this.rows.get(ownerKey(row));
    if (stored?.version !== expectedVersion) return false;
    this.rows.set(ownerKey(row), { ...row, version: (expectedVersion ?? 0) + 1 });
    return true;
  }

  async release(ref: EntryRef, expectedVersion: number): Promise<boolean> {
    this.check('delete the row');
    this.calls.writes++;
    const stored = this.rows.get(ownerKey(ref));
    if (stored === undefined || stored.version !== expectedVersion) return false;
    this.rows.delete(ownerKey(ref));
    return true;
  }

  async byEcsService(ecsService: string): Promise<OwnerRow[]> {
    this.check('query the ECS service index');
    this.calls.queries++;
    return [...this.rows.values()].filter((r) => r.ecsService === ecsService).map((r) => ({ ...r }));
  }

  async list(): Promise<OwnerRow[]> {
    this.check('list the rows');
    return [...this.rows.values()].map((r) => ({ ...r }));
  }

  private check(what: string): void {
    if (this.failWith !== undefined) throw new OwnershipTableError(this.table, what, this.failWith);
  }
}
