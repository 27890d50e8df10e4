import { performance } from 'node:perf_hooks';
import { Fleet } from './fleet';
import { type Summary, summarize } from './stats';

/** Warm handling time per event and burst throughput, with in-memory adapters. */
export interface WarmResult {
  services: number;
  /** One event per invocation, the world moving between events as it would. */
  perEvent: {
    events: number;
    warmup: number;
    ms: Summary;
    actionableMs: Summary;
    statusMix: Record<string, number>;
  };
  /** Events queued by a deployment of every service, handed over in batches of 10, back to back. */
  burst: { events: number; invocations: number; totalMs: number; eventsPerSecond: number; records: number };
}

export interface WarmOptions {
  services: number;
  seed: number;
  events: number;
  warmup: number;
}

const ACTIONABLE = /^(RUNNING\/RUNNING|RUNNING\/STOPPED|DEACTIVATING|STOPPING|DEPROVISIONING|STOPPED)/;

/**
 * The real handler (`createHandler` over a real `Reconciler`) with the in-memory World and
 * MemoryRegistry and a silent logger: what is timed is parsing, coalescing, reads through the
 * ports, the decision and the record, not the network. Rolling deployments of every service,
 * again and again, give the event mix (PROVISIONING, PENDING, RUNNING, desired STOPPED, …).
 */
export async function measureWarm(options: WarmOptions): Promise<WarmResult> {
  const fleet = new Fleet({
    services: options.services,
    seed: options.seed,
    resyncEveryMs: 0,
    builtIn: false,
    manualDelivery: true,
  });
  const all: number[] = [];
  const actionable: number[] = [];
  const statusMix: Record<string, number> = {};
  let seen = 0;
  const target = options.warmup + options.events;
  while (seen < target) {
    for (const s of fleet.services) fleet.deploy(s);
    const roundEnd = fleet.clock.now() + 10 * 60_000;
    while (fleet.clock.now() < roundEnd && seen < target) {
      await fleet.runUntil(fleet.clock.now() + 1_000);
      for (const record of fleet.takeQueued()) {
        if (seen >= target) break;
        const started = performance.now();
        await fleet.handler({ Records: [record] });
        const ms = performance.now() - started;
        seen++;
        if (seen <= options.warmup) continue;
        const detail = (JSON.parse(record.body) as { detail: { lastStatus: string; desiredStatus: string } })
          .detail;
        const status = `${detail.lastStatus}/${detail.desiredStatus}`;
        statusMix[status] = (statusMix[status] ?? 0) + 1;
        all.push(ms);
        if (ACTIONABLE.test(status)) actionable.push(ms);
      }
    }
    fleet.takeQueued();
  }

  for (const s of fleet.services) fleet.deploy(s);
  await fleet.runUntil(fleet.clock.now() + 10 * 60_000);
  const events = fleet.queued;
  const recordsBefore = fleet.tally.records;
  let invocations = 0;
  const started = performance.now();
  while (fleet.queued > 0) {
    await fleet.handler({ Records: fleet.takeQueued(10) });
    invocations++;
  }
  const totalMs = performance.now() - started;
  return {
    services: options.services,
    perEvent: {
      events: all.length,
      warmup: options.warmup,
      ms: summarize(all),
      actionableMs: summarize(actionable),
      statusMix,
    },
    burst: {
      events,
      invocations,
      totalMs,
      eventsPerSecond: events / (totalMs / 1000),
      records: fleet.tally.records - recordsBefore,
    },
  };
}
