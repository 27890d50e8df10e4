import type { ScanModel } from './adapters';
import type { ScenarioResult } from './run';

/**
 * The scan as `npm run sim -- --scan` models it: a scanner that fails now and then (a timeout,
 * an unreachable analyzer) and takes seconds to a minute, well after the write's read-back.
 */
export const DAY_SCAN: ScanModel = { failRate: 0.05, delayMs: [3_000, 60_000], writeBackRate: 0.5 };

/** One line per scenario: what the scan did, and what the reconciler left unreported or unrepaired. */
export function formatScan(results: readonly ScenarioResult[]): string {
  const lines = results.map((r) => {
    const s = r.scan;
    if (s === undefined) return `  ${r.scenario}: scan not modelled`;
    return `  ${r.scenario.padEnd(32)} failed ${s.failed}, disabled ${s.disabledEntries} (unreported ${s.disabledUnreported}; reported by a resync ${s.reportedByResync}), written back ${s.writtenBack} (unrepaired ${s.writtenBackUnrepaired})`;
  });
  return `Security scan (failed scans; entries disabled with security-pending, not reported, and reported by a resync shard; older addresses written back and not repaired):\n${lines.join('\n')}`;
}
