import { nextVerifyDelaySeconds, type VerifyFinding } from '../../../functions/fanout/verify-chain';

const AT = '2026-01-01T00:00:00.000Z';
const AT_MS = Date.parse(AT);
const SETTLE = 75_000;
const CONFIRMED: VerifyFinding = {
  confirmed: true,
  disabled: false,
  disabledSecurityPending: false,
  addressWrittenBack: false,
  changedSince: false,
};

describe('nextVerifyDelaySeconds', () => {
  it('a confirmed verification before the settle time is followed by one at the settle time', () => {
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + 15_000, SETTLE)).toBe(60);
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS, SETTLE)).toBe(75);
  });

  it('rounds the delay up, so the follow-up never runs before the settle time', () => {
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + 15_400, SETTLE)).toBe(60);
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + SETTLE - 1, SETTLE)).toBe(1);
  });

  it('a verification exactly at the settle time, or after it, is the last', () => {
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + SETTLE, SETTLE)).toBeUndefined();
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + SETTLE + 1, SETTLE)).toBeUndefined();
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + 3_600_000, SETTLE)).toBeUndefined();
  });

  it('a settle time below the first verification means that one is the last', () => {
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + 15_000, 10_000)).toBeUndefined();
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + 15_000, 0)).toBeUndefined();
  });

  it('stays within SQS DelaySeconds: a settle time beyond 900 s is reached one confirmed step at a time', () => {
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS, 1_200_000)).toBe(900);
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + 900_000, 1_200_000)).toBe(300);
    expect(nextVerifyDelaySeconds(CONFIRMED, AT, AT_MS + 1_200_000, 1_200_000)).toBeUndefined();
  });

  it.each<[string, Partial<VerifyFinding>]>([
    ['disabled with security-pending', { disabled: true, disabledSecurityPending: true }],
    ['disabled without the tag', { disabled: true }],
    ['an older address written back', { confirmed: false, addressWrittenBack: true }],
    ['another address since (a later write)', { confirmed: false, changedSince: true }],
    ['not the address written', { confirmed: false }],
  ])('%s is conclusive: no follow-up, however early', (_name, change) => {
    expect(nextVerifyDelaySeconds({ ...CONFIRMED, ...change }, AT, AT_MS + 15_000, SETTLE)).toBeUndefined();
  });

  it('a write time that does not parse gives no follow-up', () => {
    expect(nextVerifyDelaySeconds(CONFIRMED, 'not a time', AT_MS, SETTLE)).toBeUndefined();
  });
});
