import type { ReconcilerConfig, TargetConfig } from '../config';
import { isPointerFresh, type Pointer, verifiedUrl } from '../core/resync';
import type { TaskState } from '../core/types';
import { describeError } from '../errors';
import type { EcsPort } from '../ports';
import type { DecisionRecord } from '../record';
import { CountingContext, mergeCalls } from './calls';
import type { Plan } from './plan';
import type { Reporter } from './report';
import { targetKey } from './target-key';

/** A pointer to re-check, with ECS's view of the pointed tasks from the batched check. */
export interface PointerCheck {
  pointer: Pointer;
  tasks: ReadonlyMap<string, TaskState>;
}

export interface PointerMemoryDeps {
  config: Pick<ReconcilerConfig, 'cluster' | 'resyncFullCheckMinutes'>;
  ecs: EcsPort;
  reporter: Reporter;
  now: () => number;
}

/**
 * The live task each target's entry was last seen pointing at, from a full check (Cloud Map +
 * ECS) or our own confirmed write. The scheduled resync re-checks it with ECS alone.
 */
export class PointerMemory {
  private readonly pointers = new Map<string, Pointer>();

  constructor(private readonly deps: PointerMemoryDeps) {}

  /**
   * For the plans that only the schedule asks for and whose pointer is fresh, one batched
   * DescribeTasks (100 tasks a call, for every such target at once) tells whether the pointed
   * task still lives. Any task event or registry restart still takes the full path.
   */
  async check(plans: Plan[]): Promise<Map<Plan, PointerCheck>> {
    const minutes = this.deps.config.resyncFullCheckMinutes;
    const due = new Map<Plan, Pointer>();
    for (const plan of plans) {
      if (minutes === 0 || !plan.triggers.every((t) => t.type === 'schedule')) continue;
      const pointer = this.pointers.get(targetKey(plan.target));
      if (pointer !== undefined && isPointerFresh(pointer, this.deps.now(), minutes)) due.set(plan, pointer);
    }
    const checks = new Map<Plan, PointerCheck>();
    const first = due.keys().next().value;
    if (first === undefined) return checks;
    const calls = new CountingContext();
    let tasks: Map<string, TaskState>;
    try {
      const ids = [...new Set([...due.values()].map((p) => p.taskId))];
      tasks = await this.deps.ecs.describeTasks(this.deps.config.cluster, ids, calls);
    } catch (error) {
      // The full path will ask again, and report the failure per target if it persists.
      this.deps.reporter.warn(
        `resync pointer check failed, checking every target in full: ${describeError(error)}`,
      );
      return checks;
    } finally {
      mergeCalls(first.lookupCalls, calls.take());
    }
    for (const [plan, pointer] of due) checks.set(plan, { pointer, tasks });
    return checks;
  }

  /** The live task the target's entry was last verified pointing at, whatever its age. */
  recall(target: TargetConfig): Pointer | undefined {
    return this.pointers.get(targetKey(target));
  }

  /**
   * Keeps the target's pointer when the record shows its entry holding a verified live task, and
   * forgets it otherwise. A decision made from the pointer itself leaves it (and its age) alone.
   */
  remember(
    target: TargetConfig,
    record: DecisionRecord,
    chosen: string | undefined,
    fromPointer: boolean,
  ): void {
    if (fromPointer) return;
    const key = targetKey(target);
    const url = verifiedUrl(record);
    if (chosen === undefined || url === undefined) this.pointers.delete(key);
    else this.pointers.set(key, { taskId: chosen, url, checkedAt: this.deps.now() });
  }
}
