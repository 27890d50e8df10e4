import { type Decision, liveness } from './decide';
import type { ErrorReason, Reason } from './reasons';
import type { Action, TaskState } from './types';
import { hostOf, normalizeHost } from './url';

/**
 * The scheduled resync's shortcut. It exists to catch what events missed; when the entry still
 * holds the address last verified (by a full check or our own confirmed write) and ECS says that
 * task still lives, Cloud Map need not be asked until the full check is due.
 */

/** The live task an entry was last seen pointing at. */
export interface Pointer {
  taskId: string;
  /** The entry's address when it was checked. */
  url: string;
  /** When Cloud Map and ECS last confirmed it (virtual time in the simulation). */
  checkedAt: number;
}

export interface PointerDecisionInput {
  currentUrl: string;
  pointer: Pointer;
  /** ECS's view of the pointed tasks, from the batched check. */
  tasks: ReadonlyMap<string, TaskState>;
  stoppingTaskIds: ReadonlySet<string>;
  /** How often Cloud Map is asked in full, for the record's detail. */
  fullCheckMinutes: number;
}

/** Whether a pointer checked at `checkedAt` may still stand in for a full check at `now`. */
export function isPointerFresh(pointer: Pointer, now: number, fullCheckMinutes: number): boolean {
  return fullCheckMinutes > 0 && now - pointer.checkedAt < fullCheckMinutes * 60_000;
}

/** The resync's decision from the pointer alone, or undefined when the full check must run. */
export function decideFromPointer(input: PointerDecisionInput): Decision | undefined {
  const { currentUrl, pointer } = input;
  if (currentUrl !== pointer.url) return undefined;
  if (liveness(pointer.taskId, input.tasks, input.stoppingTaskIds) !== 'live') return undefined;
  const task = input.tasks.get(pointer.taskId);
  // A task failing its health check may have a HEALTHY sibling to move to: only the full check knows.
  if (task?.healthStatus === 'UNHEALTHY') return undefined;
  // The address must still be the one ECS gives that task.
  if (task?.ipv4 === undefined || normalizeHost(task.ipv4) !== normalizeHost(hostOf(currentUrl) ?? '')) {
    return undefined;
  }
  return {
    action: 'noop',
    reason: 'current-live',
    detail: `resync: ${hostOf(currentUrl)} is still live task ${pointer.taskId} (ECS); Cloud Map is checked again within ${input.fullCheckMinutes} min`,
    desiredUrl: currentUrl,
    instances: [],
    chosen: pointer.taskId,
    retryable: false,
  };
}

/** What a finished reconcile says about its entry, as far as the pointer memory cares. */
export interface SettledEntry {
  action: Action;
  reason: Reason | ErrorReason;
  currentUrl?: string;
  desiredUrl?: string;
  dryRun: boolean;
  write?: { confirmed: boolean };
}

/**
 * The address the entry is now known to hold a live, Cloud-Map-listed task at: after a full check
 * that kept it, or after our own confirmed write. Undefined for anything else, so the next resync
 * of that target asks Cloud Map.
 */
export function verifiedUrl(entry: SettledEntry): string | undefined {
  if (entry.action === 'noop' && entry.reason === 'current-live') return entry.currentUrl;
  if (entry.action === 'update' && !entry.dryRun && entry.write?.confirmed) return entry.desiredUrl;
  return undefined;
}

/** What `needsSecondLook` weighs: a decision about to be acted on, and what ECS said of the pointer's task. */
export interface SecondLookInput {
  decision: Decision;
  currentUrl: string;
  /** The live task the entry was last verified pointing at (pointer memory), if any. */
  pointer: Pointer | undefined;
  /** The DescribeTasks answer the decision was made on. */
  tasks: ReadonlyMap<string, TaskState>;
  /** Tasks a triggering event shows going away: an event is a second witness. */
  stoppingTaskIds: ReadonlySet<string>;
  /** An earlier DescribeTasks answer of this reconcile (the resync's pointer check), if any. */
  earlier?: ReadonlyMap<string, TaskState> | undefined;
}

const NOTHING_STOPPING: ReadonlySet<string> = new Set();

/**
 * Whether a move off the entry's remembered live task rests on one DescribeTasks answer alone, and
 * must be confirmed by one more read of that task before the entry is written. True only when the
 * decision moves the entry off the pointer's task, the entry still holds the pointer's address,
 * the answer shows that task not live (MISSING, STOPPED, not RUNNING/RUNNING), and nothing else
 * says so: no triggering event shows it going away, and no earlier answer of this reconcile
 * already found it not live.
 */
export function needsSecondLook(input: SecondLookInput): boolean {
  const { decision, pointer } = input;
  if (decision.action !== 'update' || pointer === undefined) return false;
  if (input.currentUrl !== pointer.url || decision.chosen === pointer.taskId) return false;
  if (input.stoppingTaskIds.has(pointer.taskId)) return false;
  if (liveness(pointer.taskId, input.tasks, NOTHING_STOPPING) === 'live') return false;
  if (input.earlier !== undefined && liveness(pointer.taskId, input.earlier, NOTHING_STOPPING) !== 'live')
    return false;
  return true;
}

/** ECS's first answer with the second look at one task laid over it (absent from the second: MISSING). */
export function withSecondLook(
  first: ReadonlyMap<string, TaskState>,
  taskId: string,
  second: ReadonlyMap<string, TaskState>,
): Map<string, TaskState> {
  const merged = new Map(first);
  const seen = second.get(taskId);
  if (seen === undefined) merged.delete(taskId);
  else merged.set(taskId, seen);
  return merged;
}
