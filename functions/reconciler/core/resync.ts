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
