import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollingModel } from '../../tools/bench/day';
import { minimumTokens } from '../../tools/bench/keycloak';
import { type BenchReport, QUICK_OPTIONS, renderMarkdown, runBench } from '../../tools/bench/report';
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
        target: 'node22',
        minify: true,
      });
    });

    it('starts fresh processes for the cold start of each bundle', () => {
      if (!('series' in report.coldStart)) throw new Error('cold start skipped');
      expect(report.coldStart.series.map((s) => s.name)).toHaveLength(3);
      for (const s of report.coldStart.series) {
        expect(s.readyMs.n).toBe(2);
        expect(s.readyMs.median).toBeGreaterThan(0);
        expect(s.readyMs.median).toBeGreaterThanOrEqual(s.importMs.median);
        expect(s.cpuMs.median).toBeGreaterThan(0);
      }
    });

    it('times warm events and a burst', () => {
      expect(report.warm.perEvent.events).toBe(QUICK_OPTIONS.warmEvents);
      expect(report.warm.perEvent.ms.median).toBeGreaterThan(0);
      expect(report.warm.perEvent.ms.p99).toBeGreaterThanOrEqual(report.warm.perEvent.ms.median);
      expect(report.warm.burst.events).toBeGreaterThan(0);
      expect(report.warm.burst.eventsPerSecond).toBeGreaterThan(0);
    });

    it('counts API calls in the storm against the minimum', () => {
      const { bench } = report.storm;
      expect(bench.counters.taskEvents).toBeGreaterThan(0);
      expect(bench.tally.records).toBeGreaterThan(0);
      expect(bench.tally.calls['cloudmap.DiscoverInstances']).toBeGreaterThan(0);
      expect(bench.tally.calls['ecs.DescribeTasks']).toBeGreaterThan(0);
      expect(bench.tally.calls['registry.read']).toBeGreaterThan(0);
      expect(bench.tally.calls['registry.write']).toBeGreaterThan(0);
      expect(bench.tally.calls['registry.token']).toBeGreaterThan(0);
      expect(bench.minimumTokens).toBeGreaterThan(0);
      expect(bench.staleEpisodes).toBeGreaterThan(0);
    });

    it('sets a simulated day of each fleet beside the polling design', () => {
      expect(report.alternative.rows.map((r) => r.services)).toEqual(QUICK_OPTIONS.fleets);
      for (const row of report.alternative.rows) {
        expect(row.reconciler.counters.taskEvents).toBeGreaterThan(0);
        expect(row.reconciler.cloudMapCalls).toBeGreaterThan(0);
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
        '### 3. Per event',
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

    it('counts the fewest tokens that cover a set of calls', () => {
      expect(minimumTokens([0, 100, 299_999, 300_000, 900_000], 300_000)).toBe(3);
      expect(minimumTokens([], 300_000)).toBe(0);
    });

    it('models polling as services × registry tasks × checks per day', () => {
      expect(pollingModel(10, 2).cloudMapCallsPerDay).toBe(10 * 2 * 288);
      expect(pollingModel(10, 1)).toMatchObject({ staleMeanS: 150, staleMaxS: 300 });
    });
  });
});
