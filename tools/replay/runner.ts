import type { VerificationRecord } from '../../functions/fanout/verify';
import { parseEvent, parseEventText } from '../../functions/lib/delivery/event';
import type { Ignored } from '../../functions/lib/reconcile/plan';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import type { LoggerLike, MetricsSink } from '../../functions/lib/telemetry/telemetry';
import type { ReplayEnvironment } from './environment';
import type { DecisionExpectation, ScenarioStep, StepExpectation } from './scenario';

/** One delivery's outcome, with every check that failed. */
export interface StepResult {
  unit: string;
  note?: string;
  origin?: string;
  records: DecisionRecord[];
  /** The part of `records` decided read-only by a resync's shard check (no work was needed). */
  checked: DecisionRecord[];
  ignored: Ignored[];
  /** Malformed events, with the reason the reconciler gave. */
  malformed: string[];
  /** Expectations that did not hold, and input that could not be replayed. */
  failures: string[];
  /** Triggers that could not be evaluated (the ECS service lookup failed), with why. */
  unevaluated: string[];
  /** The write verifications that ran after the registry's scan (delayed trigger messages). */
  verifications: VerificationRecord[];
  /** Well-formed events delivered: ECS task events and scheduled resyncs. */
  events: { task: number; schedule: number };
}

/** How the replay runs, which decides what the scenarios' expectations are. */
export interface ReplayMode {
  /**
   * Dry run in the embedded world: the reconciler writes nothing, and the world's registry then
   * takes each decided address itself, so that later steps meet the state they were written for.
   */
  followDryRun?: boolean;
  /** Cloud Map lags behind ECS in this run (`--lag`): steps' `lagged` expectations apply. */
  lagging?: boolean;
}

/** A step: events delivered together, or a change made to the registry behind the reconciler's back. */
interface Delivery {
  note?: string;
  origin?: string;
  items: { event?: unknown; text?: string }[];
  registry?: ScenarioStep['registry'];
  advanceMs?: number;
  expect?: StepExpectation;
  lagged?: StepExpectation;
  /** Raw events without expectations: anything malformed is a failure. */
  strict: boolean;
  loadError?: string;
}

export function scenarioDeliveries(steps: ScenarioStep[]): Delivery[] {
  return steps.map((s) => ({
    ...(s.note === undefined ? {} : { note: s.note }),
    ...(s.eventFile === undefined ? {} : { origin: s.eventFile }),
    items:
      s.batch !== undefined
        ? s.batch.map((event) => ({ event }))
        : s.registry !== undefined
          ? []
          : [s.text !== undefined ? { text: s.text } : { event: s.event }],
    ...(s.registry === undefined ? {} : { registry: s.registry }),
    ...(s.advanceMs === undefined ? {} : { advanceMs: s.advanceMs }),
    ...(s.expect === undefined ? {} : { expect: s.expect }),
    ...(s.lagged === undefined ? {} : { lagged: s.lagged }),
    ...(s.loadError === undefined ? {} : { loadError: s.loadError }),
    strict: false,
  }));
}

export function rawDeliveries(events: { origin: string; event: unknown; text?: string }[]): Delivery[] {
  return events.map((e) => ({
    origin: e.origin,
    items: [e.text !== undefined ? { text: e.text } : { event: e.event }],
    strict: true,
  }));
}

/** The time of the latest event each environment's world has seen. */
const lastEventTime = new WeakMap<ReplayEnvironment, number>();

/**
 * Replays deliveries in order: each event first changes the embedded world as AWS would (when
 * there is one), then goes through the deployed path (tools/replay/deployed.ts): the trigger
 * queue, the fan-out, the entries' work messages, the worker, and the writes' verifications.
 */
export async function replay(
  env: ReplayEnvironment,
  unit: string,
  deliveries: Delivery[],
  io: { logger: LoggerLike; metrics: MetricsSink; onStep?: (result: StepResult) => void; mode?: ReplayMode },
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const d of deliveries) {
    const result: StepResult = {
      unit,
      ...(d.note === undefined ? {} : { note: d.note }),
      ...(d.origin === undefined ? {} : { origin: d.origin }),
      records: [],
      checked: [],
      ignored: [],
      malformed: [],
      failures: [],
      unevaluated: [],
      verifications: [],
      events: { task: 0, schedule: 0 },
    };
    if (d.advanceMs !== undefined) env.world?.clock.advance(d.advanceMs);
    if (d.loadError !== undefined) {
      result.failures.push(d.loadError);
    } else if (d.registry !== undefined) {
      await env.registry.set(d.registry);
    } else {
      const intakes = d.items.map((item) =>
        item.text !== undefined ? parseEventText(item.text) : parseEvent(item.event),
      );
      for (const intake of intakes) {
        if (intake.kind === 'malformed') result.malformed.push(intake.reason);
        else result.events[intake.kind]++;
        if (intake.kind !== 'task' || env.world === undefined) continue;
        // The gap since the last event passes (the clock may be ahead of the events' own times:
        // a write's verifications wait for the registry's scan).
        const time = Date.parse(intake.event.time ?? '');
        if (Number.isFinite(time)) {
          const last = lastEventTime.get(env);
          env.world.clock.advance(time - (last ?? env.world.clock.now()));
          lastEventTime.set(env, Math.max(time, last ?? time));
        }
        env.world.applyEvent(intake.event);
      }
      // The events go where EventBridge puts them: the trigger queue. The path then runs until both
      // queues are empty: fan-out, the entries' work, redeliveries, the writes' verifications.
      const seen = env.seen;
      seen.records.length = 0;
      seen.checks.length = 0;
      seen.ignored.length = 0;
      seen.verifications.length = 0;
      seen.failures.length = 0;
      env.path.send(d.items.map((item) => item.text ?? JSON.stringify(item.event) ?? ''));
      await env.path.drain();
      // A resync's shard check decides every entry of its page read-only; only those needing work
      // reach the worker. An entry the check found right shows the check's decision.
      const worked = new Set(seen.records.map((r) => `${r.target.kind}:${r.target.path}`));
      const checked = seen.checks.filter((r) => !worked.has(`${r.target.kind}:${r.target.path}`));
      result.records = [...seen.records, ...checked];
      result.checked = checked;
      result.ignored = [...seen.ignored];
      result.verifications = [...seen.verifications];
      for (const i of seen.ignored)
        if (i.reason === 'service-lookup-failed') result.unevaluated.push(i.detail);
      // A failed trigger message whose cause is an unevaluated trigger is reported once, as that.
      if (result.unevaluated.length === 0) result.failures.push(...seen.failures);
      if (io.mode?.followDryRun && env.world !== undefined) {
        for (const r of seen.records) {
          if (r.action === 'update' && r.dryRun && r.desiredUrl !== undefined)
            await env.registry.set({ kind: r.target.kind, path: r.target.path, url: r.desiredUrl });
        }
      }
      if (d.strict) for (const m of result.malformed) result.failures.push(`invalid event: ${m}`);
      for (const r of result.records)
        if (r.action === 'error') result.failures.push(`${r.target.path}: error ${r.reason}: ${r.detail}`);
      const expect = io.mode?.lagging && d.lagged !== undefined ? d.lagged : d.expect;
      if (expect !== undefined) {
        const now = new Map<string, string | undefined>();
        for (const want of expect.decisions ?? [])
          if (want.action === 'none' && want.url !== undefined)
            now.set(want.path, await env.registry.url({ kind: want.kind ?? 'server', path: want.path }));
        result.failures.push(...check(expect, result, now));
      }
    }
    io.onStep?.(result);
    results.push(result);
  }
  return results;
}

/** Compares a step's outcome with what the scenario expects of it. */
function check(
  expect: StepExpectation,
  result: StepResult,
  registryNow: ReadonlyMap<string, string | undefined>,
): string[] {
  const failures: string[] = [];
  if (expect.malformed !== undefined) {
    if (!result.malformed.some((m) => m.includes(expect.malformed as string))) {
      failures.push(
        `expected a malformed event (${expect.malformed}), got ${result.malformed.join('; ') || 'none'}`,
      );
    }
  } else if (result.malformed.length > 0) {
    failures.push(`unexpected malformed event: ${result.malformed.join('; ')}`);
  }
  if (expect.ignored !== undefined && !result.ignored.some((i) => i.reason === expect.ignored)) {
    failures.push(
      `expected the event to be ignored (${expect.ignored}), got ${result.ignored.map((i) => i.reason).join(', ') || 'not ignored'}`,
    );
  }
  if (expect.ignored !== undefined && result.records.some((r) => r.action === 'update')) {
    failures.push('an ignored event led to a write');
  }
  for (const want of expect.decisions ?? []) {
    // The entry's last decision of the step: where the deployed path left it.
    const got = result.records.findLast((r) => r.target.path === want.path);
    if (want.action === 'none') {
      const url = registryNow.get(want.path);
      if (got !== undefined)
        failures.push(`${want.path}: expected no decision, got ${got.action} (${got.reason})`);
      else if (want.url !== undefined && url !== want.url)
        failures.push(
          `${want.path}: expected no decision and ${want.url} in the registry, found ${url ?? 'nothing'}`,
        );
      continue;
    }
    const problem = got === undefined ? 'no decision' : mismatch(want, got);
    if (problem !== undefined) failures.push(`${want.path}: expected ${describe(want)}, ${problem}`);
  }
  return failures;
}

function mismatch(want: DecisionExpectation, got: DecisionRecord): string | undefined {
  const url = got.action === 'update' ? got.desiredUrl : got.currentUrl;
  if (
    got.action !== want.action ||
    (want.reason !== undefined && got.reason !== want.reason) ||
    (want.url !== undefined && url !== want.url)
  ) {
    return `got ${got.action} ${url ?? ''} (${got.reason})`;
  }
  return undefined;
}

function describe(want: DecisionExpectation): string {
  return `${want.action}${want.url === undefined ? '' : ` ${want.url}`}${want.reason === undefined ? '' : ` (${want.reason})`}`;
}
