import type { ScenarioResult } from './run';

/** Formats scenario results as the table `npm run sim` prints (docs/design.md shows). */
export function formatTable(results: ScenarioResult[]): string {
  const s = (ms: number) => (ms >= 100_000 ? `${Math.round(ms / 1000)}` : (ms / 1000).toFixed(1));
  const rows: [string, (r: ScenarioResult) => string][] = [
    ['services / entries', (r) => `${r.services} / ${r.targets}`],
    ['simulated', (r) => duration(r.simulatedMs)],
    ['ECS events', (r) => String(r.world.ecsEvents)],
    [
      'deploys/crashes/scale/reg.resets',
      (r) =>
        `${r.world.deployments}/${r.world.crashes}/${r.world.scaleOuts + r.world.scaleIns}/${r.world.registryResets}`,
    ],
    [
      'message groups / max concurrent',
      (r) => `${r.delivery.messageGroups} / ${r.delivery.maxConcurrentInvocations}`,
    ],
    [
      'lost/dup/late events',
      (r) => `${r.delivery.eventsLost}/${r.delivery.eventsDuplicated}/${r.delivery.eventsDelayed}`,
    ],
    ['invocations (timeouts)', (r) => `${r.delivery.invocations} (${r.delivery.lambdaTimeouts})`],
    ['redeliveries / DLQ', (r) => `${r.delivery.redeliveries} / ${r.delivery.deadLettered}`],
    [
      'DLQ: stuck entry / others',
      (r) => (r.stuck === undefined ? '–' : `${r.stuck.deadLettered} / ${r.stuck.othersDeadLettered}`),
    ],
    ['budget: not started / writes refused', (r) => `${r.delivery.notStarted} / ${r.delivery.writesRefused}`],
    [
      'invocation p99 / max (s)',
      (r) => `${s(r.delivery.invocation.p99Ms)} / ${s(r.delivery.invocation.maxMs)}`,
    ],
    [
      'queue wait p99 / max (s)',
      (r) => `${s(r.delivery.queueWait.p99Ms)} / ${s(r.delivery.queueWait.maxMs)}`,
    ],
    ['stale episodes', (r) => String(r.stale.count)],
    ['stale total (s)', (r) => s(r.stale.totalMs)],
    ['stale p50 / p99 / max (s)', (r) => `${s(r.stale.p50Ms)} / ${s(r.stale.p99Ms)} / ${s(r.stale.maxMs)}`],
    ['stale > 10 s, by what bounded it', (r) => tails(r)],
    ['stale max, other entries (s)', (r) => (r.stuck === undefined ? '–' : s(r.stuck.othersWorstStaleMs))],
    ['stale after stop signal (s)', (r) => s(r.stale.afterSignalMs)],
    ['awaiting replacement (s)', (r) => s(r.stale.awaitingReplacementMs)],
    ['stale from registry resets (s)', (r) => s(r.stale.byCause['registry-reset']?.totalMs ?? 0)],
    ['registry-reset episode max (s)', (r) => s(r.stale.byCause['registry-reset']?.maxMs ?? 0)],
    ['converge after last change (s)', (r) => (r.convergeMs === null ? 'never' : s(r.convergeMs))],
    [
      'writes / moves needed',
      (r) => `${r.writes.landed} / ${r.writes.movesNeeded} (${r.writes.perMove.toFixed(2)})`,
    ],
    ['lost updates', (r) => String(r.writes.lostUpdates)],
    [
      'same-value / needless writes',
      (r) => `${r.violations.sameValueWrites} / ${r.violations.needlessMoves}`,
    ],
    ['unsafe / blank writes', (r) => `${r.violations.unsafeWrites} / ${r.violations.blankWrites}`],
    ['disabled after write', (r) => String(r.writes.disabledAfterWrite)],
    ['calls/event CloudMap', (r) => per(r, 'cloudmap.DiscoverInstances')],
    ['calls/event DescribeTasks', (r) => per(r, 'ecs.DescribeTasks')],
    ['calls/event DescribeServices', (r) => per(r, 'ecs.DescribeServices')],
    ['calls/event registry read', (r) => per(r, 'registry.read')],
    ['calls/event registry write', (r) => per(r, 'registry.write')],
    ['fan-out invocations (timeouts)', (r) => `${r.fanout.invocations} (${r.fanout.timeouts})`],
    ['resync shard check max (s)', (r) => s(r.fanout.shardCheck.maxMs)],
    [
      'registry reads / writes per resync (max)',
      (r) => `${r.resync.registryReadsPerResyncMax} / ${r.resync.registryWritesPerResyncMax}`,
    ],
    ['DescribeTasks calls (throttled)', (r) => api(r, 'ecs.DescribeTasks')],
    ['DescribeServices calls (throttled)', (r) => api(r, 'ecs.DescribeServices')],
    ['DiscoverInstances calls (throttled)', (r) => api(r, 'cloudmap.DiscoverInstances')],
    [
      'after quiet + 1 resync',
      (r) =>
        `${r.final.pointingAtLive}/${r.final.targets - r.final.withoutLiveTask} live${r.final.bad.length > 0 ? ` BAD ${r.final.bad.join(',')}` : ''}`,
    ],
  ];
  if (results.some((r) => r.follow !== undefined)) rows.push(...FOLLOW_ROWS);
  const header = ['measure', ...results.map((r) => r.scenario)];
  const body = rows.map(([name, f]) => [name, ...results.map(f)]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => (row[i] as string).length)));
  const line = (row: string[]) =>
    `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const usd = (x: number) => `$${x < 0.01 ? x.toFixed(4) : x.toFixed(2)}`;
const ifFollow =
  (f: (x: NonNullable<ScenarioResult['follow']>, r: ScenarioResult) => string) => (r: ScenarioResult) =>
    r.follow === undefined ? '–' : f(r.follow, r);

/** Follow mode's rows (only when a follow scenario ran). */
const FOLLOW_ROWS: [string, (r: ScenarioResult) => string][] = [
  [
    'follow: entries by name / hand-set / foreign / unadoptable name',
    ifFollow(
      (f) =>
        `${f.entries.named} / ${f.entries['hand-set']} / ${f.entries.foreign} / ${f.entries.unadoptable}`,
    ),
  ],
  [
    'follow: registration → live task p50 / p99 / max (s)',
    ifFollow((f) =>
      f.adoption.count === 0
        ? '–'
        : `${(f.adoption.p50Ms / 1000).toFixed(0)} / ${(f.adoption.p99Ms / 1000).toFixed(0)} / ${(f.adoption.maxMs / 1000).toFixed(0)}`,
    ),
  ],
  [
    'follow: over one resync period / never',
    ifFollow((f) => `${f.adoption.overPeriod} / ${f.neverAdopted.length}`),
  ],
  [
    'names sweep: sweeps / page reads per sweep (max) / per min / work sent',
    (r) =>
      r.sweep === undefined
        ? '–'
        : `${n(r.sweep.sweeps)} / ${r.sweep.pageReadsMax} / ${r.sweep.pageReadsPerMinute} / ${n(r.sweep.work)}`,
  ],
  [
    'follow: re-pointed / released / still owned',
    ifFollow((f) => `${f.repointed} / ${f.released} / ${f.repointedStillOwned.length}`),
  ],
  ['follow: writes the table does not give us', ifFollow((f) => String(f.notOwnedWrites))],
  ['follow: rows at the end', ifFollow((f) => n(f.rowsAtEnd))],
  [
    'table: GetItem (strong) calls / RRU',
    ifFollow((f) => `${n(f.table.getItem.calls)} / ${n(f.table.getItem.rru)}`),
  ],
  [
    'table: Query (index, eventual) calls / RRU',
    ifFollow((f) => `${n(f.table.query.calls)} / ${n(f.table.query.rru)}`),
  ],
  ['table: Scan calls / RRU', ifFollow((f) => `${n(f.table.scan.calls)} / ${n(f.table.scan.rru)}`)],
  [
    'table: PutItem calls (failed) / WRU',
    ifFollow(
      (f) => `${n(f.table.putItem.calls)} (${f.table.putItem.conditionFailed}) / ${n(f.table.putItem.wru)}`,
    ),
  ],
  [
    'table: DeleteItem calls (failed) / WRU',
    ifFollow(
      (f) =>
        `${n(f.table.deleteItem.calls)} (${f.table.deleteItem.conditionFailed}) / ${n(f.table.deleteItem.wru)}`,
    ),
  ],
  ['table: RRU / WRU per day', ifFollow((f) => `${n(f.cost.rruPerDay)} / ${n(f.cost.wruPerDay)}`)],
  [
    'table: cost per day / month (us-east-1)',
    ifFollow((f) => `${usd(f.cost.requestsPerDay)} / ${usd(f.cost.perMonth)}`),
  ],
  [
    'follow by name: DiscoverInstances / DescribeServices / GetService',
    ifFollow(
      (f) =>
        `${n(f.worldCalls['cloudmap.DiscoverInstances'] ?? 0)} / ${n(f.worldCalls['ecs.DescribeServices'] ?? 0)} / ${n(f.worldCalls['cloudmap.GetService'] ?? 0)}`,
    ),
  ],
];

function per(r: ScenarioResult, api: keyof ScenarioResult['calls']['perEvent']): string {
  return (r.calls.perEvent[api] ?? 0).toFixed(2);
}

function api(r: ScenarioResult, name: keyof ScenarioResult['api']): string {
  const a = r.api[name];
  return `${a.calls} (${a.throttled})`;
}

function duration(ms: number): string {
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 1000).toFixed(0)} s`;
}

const SHORT: Record<string, string> = {
  'registry reset, put back by a re-check': 'reset',
  'lost event, healed by the resync': 'lost',
  'lost event, healed by a later event': 'lost-then-event',
  'late event': 'late',
  'stop signal before the replacement was listed (Cloud Map lag)': 'lag',
  'healed by the resync': 'resync',
  'registry errors and redeliveries': 'errors',
  'ended without a write': 'no-write',
};

/** Episodes over 10 s by bound, short: `lost 2 (29.3), lag 1 (11.5)` (count, longest in s). */
function tails(r: ScenarioResult): string {
  const parts = Object.entries(r.stale.tails).map(
    ([bound, t]) => `${SHORT[bound] ?? bound} ${t.count} (${(t.maxMs / 1000).toFixed(1)})`,
  );
  return parts.length === 0 ? '0' : parts.join(', ');
}
