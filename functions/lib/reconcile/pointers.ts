import type { TargetConfig } from '../config/config';
import { type Pointer, verifiedUrl } from '../core/resync';
import type { DecisionRecord } from '../telemetry/record';
import { targetKey } from './target-key';

/**
 * The live task each target's entry was last seen pointing at, from a full check (Cloud Map +
 * ECS) or our own confirmed write; the resync re-checks it with ECS alone (reconcile.ts), and a
 * move off it on one DescribeTasks answer waits for a second.
 *
 * A dry run's full check that proposes a move (the fan-out's resync shard check) remembers the
 * task it proposes at the address it proposes: the worker makes that write in another function,
 * and the next resync that finds the entry holding exactly that address, on that live task, needs
 * no Cloud Map look-up. An entry holding anything else takes the full path.
 */
export class PointerMemory {
  private readonly pointers = new Map<string, Pointer>();

  constructor(private readonly deps: { now: () => number }) {}

  /** The live task the target's entry was last verified pointing at, whatever its age. */
  recall(target: TargetConfig): Pointer | undefined {
    return this.pointers.get(targetKey(target));
  }

  /**
   * Keeps the target's pointer when the record shows its entry holding a verified live task (or,
   * in a dry run, proposes one), and forgets it otherwise. A decision made from the pointer itself
   * leaves it (and its age) alone.
   */
  remember(
    target: TargetConfig,
    record: DecisionRecord,
    chosen: string | undefined,
    fromPointer: boolean,
  ): void {
    if (fromPointer) return;
    const key = targetKey(target);
    const url = verifiedUrl(record) ?? proposedUrl(record);
    if (chosen === undefined || url === undefined) this.pointers.delete(key);
    else this.pointers.set(key, { taskId: chosen, url, checkedAt: this.deps.now() });
  }
}

/** The address a dry run's full check would write (Cloud Map lists the task, ECS says it is live). */
function proposedUrl(record: DecisionRecord): string | undefined {
  return record.dryRun && record.action === 'update' ? record.desiredUrl : undefined;
}
