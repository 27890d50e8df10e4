/** The 1.2x compare-and-swap tag computed from `updated_at`, as the registry computes it. */
import { epochMsOf, weakEtagOf } from '../../functions/lib/registry/servers';

describe('epochMsOf', () => {
  test.each([
    // Naive (datetime.utcnow().isoformat()): read as UTC, never as the reader's local zone.
    ['2026-08-01T12:00:00.123456', Date.UTC(2026, 7, 1, 12, 0, 0, 123)],
    ['2026-08-01T12:00:00', Date.UTC(2026, 7, 1, 12, 0, 0)],
    ['2026-08-01T12:00:00.5', Date.UTC(2026, 7, 1, 12, 0, 0, 500)],
    ['2026-08-01T12:00:00.999999Z', Date.UTC(2026, 7, 1, 12, 0, 0, 999)],
    ['2026-08-01T14:00:00.000001+02:00', Date.UTC(2026, 7, 1, 12, 0, 0, 0)],
    ['2026-08-01T07:30:00-04:30', Date.UTC(2026, 7, 1, 12, 0, 0)],
  ])('%s', (text, expected) => {
    expect(epochMsOf(text)).toBe(expected);
  });

  test('does not depend on the process time zone', () => {
    const original = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(epochMsOf('2026-08-01T12:00:00.000')).toBe(Date.UTC(2026, 7, 1, 12));
    } finally {
      process.env.TZ = original;
    }
  });

  test.each([[undefined], [''], ['yesterday'], [1754049600]])('%p is unreadable', (value) => {
    expect(epochMsOf(value)).toBeUndefined();
  });
});

test('weakEtagOf: updated_at, else registered_at, else none (a v1.0.16 record)', () => {
  expect(weakEtagOf({ updated_at: '2026-08-01T12:00:00.123' })).toBe(
    `W/"${Date.UTC(2026, 7, 1, 12, 0, 0, 123)}"`,
  );
  expect(weakEtagOf({ registered_at: '2026-08-01T12:00:00' })).toBe(`W/"${Date.UTC(2026, 7, 1, 12)}"`);
  expect(weakEtagOf({ path: '/currenttime/' })).toBeUndefined();
});
