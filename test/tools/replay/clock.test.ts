import { REAL_WAIT_MAX_MS, SkippingClock } from '../../../tools/replay/deployed';

/**
 * The live replay's clock: it skips the wait for a delayed trigger message (a re-check, a write
 * verification) and a long redelivery, and waits out a short redelivery (Cloud Map's lag is real).
 */
describe('SkippingClock', () => {
  it('skips the wait for a delayed trigger message: its clock runs ahead by exactly that', async () => {
    const clock = new SkippingClock();
    const before = clock.now();

    await clock.wait(120_000, 'trigger');

    expect(clock.skippedMs()).toBe(120_000);
    expect(clock.now() - before).toBeGreaterThanOrEqual(120_000);
  });

  it('waits out a short work redelivery in real time (nothing skipped) and skips a longer one', async () => {
    const clock = new SkippingClock();

    await clock.wait(5, 'work');
    const afterShort = clock.skippedMs();
    await clock.wait(REAL_WAIT_MAX_MS + 1, 'work');

    expect([afterShort, clock.skippedMs()]).toEqual([0, REAL_WAIT_MAX_MS + 1]);
  });
});
