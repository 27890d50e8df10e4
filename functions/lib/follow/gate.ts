import type { Decision } from '../core/decide';
import { RetryableError } from '../errors';
import type { RegistryEntry } from '../reconcile/ports';
import type { AdoptedTarget } from './follower';
import type { OwnerRow, OwnershipPort } from './ownership';
import { ownershipVerdict } from './verdict';

/** What the gate found for one adopted entry, and how its write is recorded. */
export interface GateResult {
  /** A `skip` decision when the entry is not ours to write. */
  skip?: Decision;
  /** The owner row's state, for the decision record. */
  owner: OwnerState;
  /**
   * Records the write in the table before it goes to the registry (compare-and-swap on the row
   * read). Throws `OwnershipTableError` when the table cannot be written, and `OwnerRowConflict`
   * when another invocation changed the row since: either way nothing is written to the registry.
   */
  commit(desiredUrl: string): Promise<void>;
}

/** The owner row's state as a decision record shows it. */
export type OwnerState = 'none' | 'owned' | 'adopting' | 'released' | 'recorded';

/** The row changed between our read and our conditional write: the work is retried from fresh reads. */
export class OwnerRowConflict extends RetryableError {
  constructor(table: string, path: string) {
    super(`ownership table ${table}: the row of ${path} changed under this invocation; retried`);
  }
}

export interface GateDeps {
  ownership: OwnershipPort;
  namespace: string;
  now: () => number;
  dryRun: boolean;
  /** Called after a row of this ECS service was written or deleted (the service's cached rows are stale). */
  onRowChange?: (ecsService: string) => void;
}

/**
 * The ownership gate of an adopted entry, between the registry read and the decision: reads the
 * row (strongly consistent), applies the rule (verdict.ts), releases a row whose entry someone
 * changed, and records every write before it is made. A table failure throws (`OwnershipTableError`,
 * retryable, naming the table): the entry's work stops there.
 */
export async function checkOwnership(
  target: AdoptedTarget,
  entry: RegistryEntry,
  deps: GateDeps,
): Promise<GateResult> {
  const row = await deps.ownership.get(target);
  const v = ownershipVerdict({
    currentUrl: entry.url,
    cloudMapService: row?.cloudMapService ?? target.cloudMapService,
    namespace: deps.namespace,
    row,
  });
  const skip = (reason: Decision['reason'], detail: string): Decision => ({
    action: 'skip',
    reason,
    detail,
    instances: [],
    retryable: false,
  });
  const never = async () => {
    throw new Error('an entry that is not ours is never written');
  };
  if (v.verdict === 'released' && row !== undefined) {
    if (!deps.dryRun) {
      await deps.ownership.release(target, row.version);
      deps.onRowChange?.(row.ecsService);
    }
    return { skip: skip('released', v.detail), owner: 'released', commit: never };
  }
  if (v.verdict === 'not-owned' || v.verdict === 'foreign' || v.verdict === 'released')
    return {
      skip: skip(v.verdict === 'released' ? 'released' : v.verdict, v.detail),
      owner: 'none',
      commit: never,
    };
  const commit = async (desiredUrl: string) => {
    const next: Omit<OwnerRow, 'version'> = {
      kind: target.kind,
      path: target.path,
      cloudMapService: target.cloudMapService,
      ecsService: target.ecsService ?? row?.ecsService ?? '',
      registeredUrl: v.verdict === 'adopt' ? entry.url : (row?.registeredUrl ?? entry.url),
      writtenUrl: desiredUrl,
      ...(v.verdict === 'owned' ? { previousUrl: entry.url } : {}),
      at: new Date(deps.now()).toISOString(),
    };
    if (!(await deps.ownership.put(next, row?.version)))
      throw new OwnerRowConflict(deps.ownership.table, target.path);
    deps.onRowChange?.(next.ecsService);
  };
  return { owner: v.verdict === 'owned' ? 'owned' : 'adopting', commit };
}
