import type { MemoryRegistry } from '../../functions/lib/inmemory/world';
import type { EntryRef, WriteVerification } from '../../functions/lib/reconcile/ports';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { hostOf, isIPv4 } from '../../functions/lib/url';
import type { ScanEvent, WriteAttempt } from './adapters';
import type { Cluster, SimTask } from './cluster';

/**
 * Watches the world and the registry after every step of the simulation and keeps the figures:
 * stale-pointer episodes (the entry names a task that is not live while a live one exists), the
 * part of them that came after the reconciler had been told (the stop signal was delivered) while
 * Cloud Map already listed another live task, writes against the moves that were needed, writes
 * that were unsafe or useless, and lost updates (a write decided earlier landing after a later one).
 */

export interface WatchedTarget {
  ref: EntryRef;
  ecsService: string;
  cloudMapService: string;
}

/** Why an episode started. */
export type StaleCause = 'deployment' | 'scale-in' | 'crash' | 'registry-reset' | 'other';

export interface StaleEpisode {
  path: string;
  cause: StaleCause;
  start: number;
  end?: number;
}

interface TargetState {
  bad: boolean;
  /** Which after-signal accumulator the entry is in now (see `afterSignalMs`, `awaitingReplacementMs`). */
  afterSignal: AfterSignal;
  since: number;
  afterSince: number;
  episode?: StaleEpisode;
  lastDecidedLanded: number;
}

/** Whether, when the stop signal was processed, Cloud Map listed another live task. */
export type AfterSignal = 'alternative-listed' | 'awaiting-replacement' | undefined;

export interface Violation {
  at: number;
  path: string;
  kind: 'blank-write' | 'unsafe-write' | 'same-value-write' | 'needless-move';
  detail: string;
}

export class Observer {
  private readonly states = new Map<string, TargetState>();
  private readonly byService = new Map<string, WatchedTarget[]>();
  private readonly dirty = new Set<WatchedTarget>();
  readonly episodes: StaleEpisode[] = [];
  readonly violations: Violation[] = [];
  /** Stop signals (events with `desiredStatus` STOPPED) the handler has processed, by task id. */
  /**
   * Stop signals (events with `desiredStatus` STOPPED) the handler has processed, by task id:
   * true when Cloud Map already listed another live task of the service when the batch started.
   */
  private readonly signalled = new Map<string, boolean>();
  /**
   * Stale time after the handler processed the pointed task's stop signal although Cloud Map
   * listed another live task when it did: the reconciler had all it needed and did not move.
   */
  afterSignalMs = 0;
  /**
   * Stale time after the handler processed the pointed task's stop signal when no other live task
   * was listed yet (the replacement was still registering), while one is listed now: the known
   * edge where the stopping address is kept until a later event or the resync.
   */
  awaitingReplacementMs = 0;
  /** The intervals behind both figures. */
  readonly afterSignalIntervals: {
    path: string;
    taskId: string;
    kind: AfterSignal;
    start: number;
    end?: number;
  }[] = [];
  /** Last time a task became live or stopped being live, or the registry reset an entry. */
  lastChangeAt = 0;
  /** Last time an entry went from stale to right. */
  lastFixAt = 0;
  readonly writes = { decided: 0, landed: 0, lostUpdates: 0, staleLandings: 0 };
  private measuring = true;

  constructor(
    private readonly now: () => number,
    private readonly cluster: Cluster,
    private readonly registry: MemoryRegistry,
    readonly targets: WatchedTarget[],
    /**
     * Entries not measured (yet): in follow mode an entry counts from the moment it first names a
     * live task after its registration until a person points it elsewhere (it is theirs then).
     */
    private readonly paused: Set<string> = new Set(),
  ) {
    for (const t of targets) {
      const list = this.byService.get(t.ecsService) ?? [];
      list.push(t);
      this.byService.set(t.ecsService, list);
      this.states.set(t.ref.path, {
        bad: false,
        afterSignal: undefined,
        since: 0,
        afterSince: 0,
        lastDecidedLanded: Number.NEGATIVE_INFINITY,
      });
      this.dirty.add(t);
    }
  }

  // ---- hooks ----

  /** Starts measuring an entry (follow mode: the reconciler adopted it). */
  resume(path: string): void {
    if (this.paused.delete(path)) this.entryChanged(path);
  }

  /** Stops measuring an entry (follow mode: a person took it over); an open episode ends now. */
  pause(path: string): void {
    if (this.paused.has(path)) return;
    this.paused.add(path);
    this.entryChanged(path);
  }

  /** The entries measured now. */
  activeTargets(): WatchedTarget[] {
    return this.paused.size === 0 ? this.targets : this.targets.filter((t) => !this.paused.has(t.ref.path));
  }

  serviceChanged(ecsService: string): void {
    for (const t of this.byService.get(ecsService) ?? []) this.dirty.add(t);
  }

  livenessChanged(_service?: string): void {
    this.lastChangeAt = this.now();
  }

  entryChanged(path: string): void {
    for (const t of this.targets) if (t.ref.path === path) this.dirty.add(t);
  }

  registryReset(path: string): void {
    this.lastChangeAt = this.now();
    this.entryChanged(path);
  }

  /** Whether Cloud Map lists a live task of the stopping task's service other than it. */
  hasListedAlternative(taskId: string): boolean {
    const task = this.cluster.task(taskId);
    const target = task === undefined ? undefined : this.byService.get(task.service)?.[0];
    if (task === undefined || target === undefined) return false;
    const listed = new Set(this.cluster.world.listed(target.cloudMapService));
    return this.cluster.live(task.service).some((x) => x.taskId !== taskId && listed.has(x.taskId));
  }

  /** The handler finished a batch holding this task's stop signal; `hadAlternative` as seen when the batch started. */
  signalProcessed(taskId: string, hadAlternative: boolean): void {
    this.signalled.set(taskId, (this.signalled.get(taskId) ?? false) || hadAlternative);
    const task = this.cluster.task(taskId);
    if (task !== undefined) this.serviceChanged(task.service);
  }

  /** The reconciler decided a write: check it names a live task that Cloud Map lists. */
  writeDecided(attempt: WriteAttempt): void {
    this.writes.decided++;
    const target = this.targets.find((t) => t.ref.path === attempt.ref.path);
    const host = hostOf(attempt.url);
    const current = this.registry.url(attempt.ref);
    const at = this.now();
    if (host === undefined || !isIPv4(host) || attempt.url.trim() === '') {
      this.violations.push({ at, path: attempt.ref.path, kind: 'blank-write', detail: attempt.url });
      return;
    }
    const task = this.cluster.taskByIp(host);
    const listed = target === undefined ? [] : this.cluster.world.listed(target.cloudMapService);
    if (
      task === undefined ||
      !(task.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING') ||
      !listed.includes(task.taskId) ||
      task.service !== target?.ecsService
    ) {
      this.violations.push({
        at,
        path: attempt.ref.path,
        kind: 'unsafe-write',
        detail: `${attempt.url}: task ${task?.taskId ?? '?'} is ${task?.lastStatus}/${task?.desiredStatus}, listed=${task !== undefined && listed.includes(task.taskId)}`,
      });
    }
    if (current === attempt.url) {
      this.violations.push({ at, path: attempt.ref.path, kind: 'same-value-write', detail: attempt.url });
    } else if (target !== undefined && current !== undefined) {
      const pointed = this.pointed(current);
      if (pointed !== undefined && isLiveTask(pointed) && listed.includes(pointed.taskId)) {
        this.violations.push({
          at,
          path: attempt.ref.path,
          kind: 'needless-move',
          detail: `moved away from live task ${pointed.taskId} to ${attempt.url}`,
        });
      }
    }
  }

  /** A write landed: lost update when a write decided earlier lands after one decided later. */
  writeLanded(attempt: WriteAttempt): void {
    this.writes.landed++;
    const state = this.states.get(attempt.ref.path);
    if (state !== undefined) {
      if (attempt.decidedAt < state.lastDecidedLanded) this.writes.lostUpdates++;
      state.lastDecidedLanded = Math.max(state.lastDecidedLanded, attempt.decidedAt);
    }
    const task = this.pointed(attempt.url);
    const target = this.targets.find((t) => t.ref.path === attempt.ref.path);
    if (
      target !== undefined &&
      (task === undefined || !isLiveTask(task)) &&
      this.cluster.live(target.ecsService).length > 0
    ) {
      this.writes.staleLandings++;
    }
    this.entryChanged(attempt.ref.path);
  }

  /** Re-evaluates the entries whose world or registry changed in the last step. */
  step(): void {
    if (!this.measuring || this.dirty.size === 0) return;
    const now = this.now();
    for (const t of this.dirty) this.evaluate(t, now);
    this.dirty.clear();
  }

  /** Stops measuring (closes open episodes at `now`). */
  stop(): void {
    const now = this.now();
    this.step();
    for (const t of this.targets) {
      const s = this.states.get(t.ref.path) as TargetState;
      this.closeAfterSignal(t, s, now);
      if (s.episode !== undefined) s.episode.end = now;
    }
    this.measuring = false;
  }

  /** Entries that do not point at a live task although their service has one. */
  badTargets(): WatchedTarget[] {
    return this.activeTargets().filter((t) => this.isBad(t).bad);
  }

  pointed(url: string): SimTask | undefined {
    const host = hostOf(url);
    return host === undefined ? undefined : this.cluster.taskByIp(host);
  }

  private isBad(t: WatchedTarget): { bad: boolean; afterSignal: AfterSignal; task?: SimTask } {
    if (this.paused.has(t.ref.path)) return { bad: false, afterSignal: undefined };
    const url = this.registry.url(t.ref) ?? '';
    const task = this.pointed(url);
    const live = this.cluster.live(t.ecsService);
    const pointerLive = task !== undefined && task.service === t.ecsService && isLiveTask(task);
    const bad = !pointerLive && live.length > 0;
    let afterSignal: AfterSignal;
    const armed = task === undefined ? undefined : this.signalled.get(task.taskId);
    if (bad && task !== undefined && armed !== undefined) {
      const listed = new Set(this.cluster.world.listed(t.cloudMapService));
      if (live.some((x) => x.taskId !== task.taskId && listed.has(x.taskId)))
        afterSignal = armed ? 'alternative-listed' : 'awaiting-replacement';
    }
    return { bad, afterSignal, ...(task === undefined ? {} : { task }) };
  }

  private closeAfterSignal(t: WatchedTarget, s: TargetState, now: number): void {
    if (s.afterSignal === undefined) return;
    const ms = now - s.afterSince;
    if (s.afterSignal === 'alternative-listed') this.afterSignalMs += ms;
    else this.awaitingReplacementMs += ms;
    const open = [...this.afterSignalIntervals]
      .reverse()
      .find((i) => i.path === t.ref.path && i.end === undefined);
    if (open !== undefined) open.end = now;
    s.afterSignal = undefined;
  }

  private evaluate(t: WatchedTarget, now: number): void {
    const s = this.states.get(t.ref.path) as TargetState;
    const { bad, afterSignal, task } = this.isBad(t);
    if (afterSignal !== s.afterSignal) {
      this.closeAfterSignal(t, s, now);
      if (afterSignal !== undefined) {
        this.afterSignalIntervals.push({
          path: t.ref.path,
          taskId: task?.taskId ?? '',
          kind: afterSignal,
          start: now,
        });
      }
      s.afterSignal = afterSignal;
      s.afterSince = now;
    }
    if (bad === s.bad) return;
    s.bad = bad;
    s.since = now;
    if (bad) {
      const cause: StaleCause =
        task === undefined ? 'registry-reset' : (task.stopKind ?? (isLiveTask(task) ? 'other' : 'other'));
      s.episode = { path: t.ref.path, cause, start: now };
      this.episodes.push(s.episode);
    } else {
      if (s.episode !== undefined) s.episode.end = now;
      s.episode = undefined;
      this.lastFixAt = now;
    }
  }
}

function isLiveTask(task: SimTask): boolean {
  return task.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING';
}

/** What the registry's background scan did over a run, and whether the reconciler said so. */
export interface ScanFigures {
  /** Scans that failed (each disables its server). */
  failed: number;
  /** Servers left disabled with `security-pending`. */
  disabledEntries: number;
  /** Of those, the ones nothing reported: no decision record, verification or resync (must be 0). */
  disabledUnreported: number;
  /** Of the disabled ones, those a resync shard reported (it needs no memory of our writes). */
  reportedByResync: number;
  unreportedPaths: string[];
  /** Late scans that put an older address back. */
  writtenBack: number;
  /** Of those, entries that still hold the address put back and do not point at a live task at the end. */
  writtenBackUnrepaired: number;
}

/**
 * A record reports a disabled entry when it carries the resync's `securityPending` flag, the
 * write's `disabledAfterWrite` (the ServerDisabledAfterWrite metric), or a verification after the
 * write that found it disabled.
 */
export function reportsDisabled(record: DecisionRecord): boolean {
  const verification = (record as { verification?: Partial<WriteVerification> }).verification;
  return (
    record.securityPending === true ||
    record.write?.disabledAfterWrite === true ||
    verification?.disabled === true ||
    verification?.disabledSecurityPending === true
  );
}

/**
 * The scan's figures. The scan's disable lasts (re-enabling is an opt-in the simulation leaves off)
 * and every entry starts enabled, so a record of the path reporting it disabled can only be about
 * a scan's disable.
 */
export function scanFigures(
  scans: readonly ScanEvent[],
  records: readonly DecisionRecord[],
  urlAtEnd: (path: string) => string | undefined,
  badAtEnd: readonly string[],
  /** The fan-out's write verifications: one that found the server disabled reports it too. */
  verifications: readonly {
    target: { path: string };
    disabled: boolean;
    disabledSecurityPending: boolean;
  }[] = [],
  /** Paths the resync shards reported disabled by the scan. */
  resyncReports: readonly string[] = [],
): ScanFigures {
  const disabled = [...new Set(scans.filter((s) => s.kind === 'disabled').map((s) => s.path))];
  const reported = new Set([
    ...records.filter(reportsDisabled).map((r) => r.target.path),
    ...verifications.filter((v) => v.disabled || v.disabledSecurityPending).map((v) => v.target.path),
    ...resyncReports,
  ]);
  const byResync = new Set(resyncReports);
  const unreportedPaths = disabled.filter((p) => !reported.has(p)).sort();
  const backs = scans.filter((s) => s.kind === 'written-back');
  const lastBack = new Map(backs.map((s) => [s.path, s.url]));
  const unrepaired = [...lastBack].filter(([path, url]) => urlAtEnd(path) === url && badAtEnd.includes(path));
  return {
    failed: scans.length - backs.length,
    disabledEntries: disabled.length,
    disabledUnreported: unreportedPaths.length,
    reportedByResync: disabled.filter((p) => byResync.has(p)).length,
    unreportedPaths,
    writtenBack: backs.length,
    writtenBackUnrepaired: unrepaired.length,
  };
}
