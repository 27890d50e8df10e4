/**
 * The registry's background security scan in the simulation: a failed scan disables the server
 * with `security-pending` after the write's read-back, and may write an older address back. Every
 * disabled entry must be reported in a decision record, and every address put back repaired.
 */
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import type { ScanEvent, ScanModel } from '../../tools/sim/adapters';
import { reportsDisabled, scanFigures } from '../../tools/sim/measures';
import { runScenario } from '../../tools/sim/run';

/** Every scan fails, late (so that later writes land first), and writes the record it captured back. */
const HARSH: ScanModel = { failRate: 1, delayMs: [30_000, 300_000], writeBackRate: 1 };

function record(path: string, extra: Partial<DecisionRecord> = {}): DecisionRecord {
  return { target: { path }, action: 'noop', ...extra } as DecisionRecord;
}

describe('the scan measure', () => {
  const scans: ScanEvent[] = [
    { at: 1, path: '/a/', kind: 'disabled' },
    { at: 2, path: '/b/', kind: 'disabled' },
    { at: 2, path: '/b/', kind: 'written-back', url: 'http://10.0.0.1:80/', replaced: 'http://10.0.0.2:80/' },
  ];

  test('counts an entry disabled with no record saying so as unreported', () => {
    // Act
    const figures = scanFigures(
      scans,
      [record('/a/', { securityPending: true }), record('/b/')],
      () => '',
      [],
    );

    // Assert
    expect(figures).toMatchObject({
      failed: 2,
      disabledEntries: 2,
      disabledUnreported: 1,
      unreportedPaths: ['/b/'],
    });
  });

  test('counts a disable that a write verification found as reported', () => {
    // Act
    const figures = scanFigures(
      scans,
      [record('/a/', { securityPending: true })],
      () => '',
      [],
      [{ target: { path: '/b/' }, disabled: true, disabledSecurityPending: true }],
    );
    const missed = scanFigures(
      scans,
      [record('/a/', { securityPending: true })],
      () => '',
      [],
      [{ target: { path: '/b/' }, disabled: false, disabledSecurityPending: false }],
    );

    // Assert
    expect(figures.disabledUnreported).toBe(0);
    expect(missed.unreportedPaths).toEqual(['/b/']);
  });

  test('counts a disable that a resync shard reported as reported, and says so', () => {
    // Act
    const figures = scanFigures(scans, [], () => '', [], [], ['/a/', '/b/', '/b/']);

    // Assert
    expect(figures).toMatchObject({ disabledUnreported: 0, reportedByResync: 2 });
  });

  test('counts a written-back address still held by a stale entry as unrepaired', () => {
    // Act
    const held = scanFigures(scans, [], (p) => (p === '/b/' ? 'http://10.0.0.1:80/' : undefined), ['/b/']);
    const repaired = scanFigures(scans, [], () => 'http://10.0.0.3:80/', []);

    // Assert
    expect(held.writtenBackUnrepaired).toBe(1);
    expect(repaired.writtenBackUnrepaired).toBe(0);
  });

  test.each([
    ['securityPending', record('/a/', { securityPending: true }), true],
    [
      'disabledAfterWrite',
      record('/a/', { write: { confirmed: true, disabledAfterWrite: true, reenabled: false } }),
      true,
    ],
    ['a verification that found it disabled', { ...record('/a/'), verification: { disabled: true } }, true],
    ['nothing', record('/a/'), false],
  ])('a record reports a disabled entry by %s', (_name, r, expected) => {
    // Assert
    expect(reportsDisabled(r as DecisionRecord)).toBe(expected);
  });
});

describe('a run with the scan', () => {
  test('leaves no disabled entry unreported and no written-back address unrepaired', async () => {
    // Act: every trigger through the reconciler (one queue), so each resync reads every entry.
    const result = await runScenario('chaos-storm', { seed: 1, scan: HARSH, keepRecords: true });

    // Assert
    const scan = result.scan;
    expect(scan).toBeDefined();
    expect(scan?.failed).toBeGreaterThan(0);
    expect(scan?.disabledEntries).toBeGreaterThan(0);
    expect(scan?.writtenBack).toBeGreaterThan(0);
    expect(scan?.disabledUnreported).toBe(0);
    expect(scan?.writtenBackUnrepaired).toBe(0);
    expect(result.records?.some((r) => r.securityPending === true)).toBe(true);
  }, 120_000);

  test('a scan that ends after the first verification is found by the follow-up at scanSettleMs', async () => {
    // Prepare: every scan fails 20–60 s after the write, after the first check (15 s), before the
    // settle time (75 s); nothing is written back, so each disable is the scan's alone.
    const late: ScanModel = { failRate: 1, delayMs: [20_000, 60_000], writeBackRate: 0 };

    // Act: the deployed per-entry path (fan-out, trigger queue, delayed verifications).
    const result = await runScenario('deployment-storm', { seed: 1, scan: late });

    // Assert
    const checks = result.fanout.verifications;
    expect(checks?.sent).toBeGreaterThan(0);
    // Each write verified twice: the first found it standing, the follow-up was the last.
    expect(checks?.checked).toBe(2 * (checks?.sent ?? 0));
    expect(result.scan?.disabledEntries).toBeGreaterThan(0);
    expect(checks?.disabledSecurityPending).toBe(result.scan?.disabledEntries);
    expect(result.scan?.disabledUnreported).toBe(0);
    // And every later resync reports them again, from the page alone (no memory of our writes).
    expect(result.scan?.reportedByResync).toBe(result.scan?.disabledEntries);
  }, 120_000);

  test('changes nothing when it is off', async () => {
    // Act
    const off = await runScenario('calm-day', { seed: 3 });

    // Assert
    expect(off.scan).toBeUndefined();
  }, 120_000);
});
