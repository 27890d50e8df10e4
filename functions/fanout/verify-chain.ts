import { verifyDelaySeconds } from '../lib/delivery/messages';

/**
 * The registry's background scan after a write runs for up to its timeout (SECURITY_SCAN_TIMEOUT,
 * 60 s by default) before it disables the server or saves the record it captured at write time.
 * The first verification runs `verifyAfterMs` after the write, when most scans are done; one
 * that finds the write still standing before `scanSettleMs` has passed is not the last word, so
 * one more follows at the settle time. Anything conclusive ends the chain.
 */
export interface VerifyFinding {
  /** The entry still has the address written. */
  confirmed: boolean;
  disabled: boolean;
  disabledSecurityPending: boolean;
  addressWrittenBack: boolean;
  changedSince: boolean;
}

/**
 * DelaySeconds of the next verification of a write confirmed at `writtenAt` (ISO), or undefined
 * when this one is the last: it found something conclusive (disabled, an address written back or
 * changed since), or it ran at or after `writtenAt + scanSettleMs`. The delay reaches the settle
 * time (rounded up to whole seconds), at most SQS's 900 s; a settle time further away than that
 * is reached by the chain, one confirmed verification at a time.
 */
export function nextVerifyDelaySeconds(
  found: VerifyFinding,
  writtenAt: string,
  nowMs: number,
  scanSettleMs: number,
): number | undefined {
  const conclusive =
    !found.confirmed ||
    found.disabled ||
    found.disabledSecurityPending ||
    found.addressWrittenBack ||
    found.changedSince;
  if (conclusive) return undefined;
  const writtenMs = Date.parse(writtenAt);
  // A time that does not parse cannot place the settle time: the resync's report of every
  // disabled entry (security-pending) still covers the entry.
  if (Number.isNaN(writtenMs)) return undefined;
  const remainingMs = writtenMs + scanSettleMs - nowMs;
  if (remainingMs <= 0) return undefined;
  return verifyDelaySeconds(remainingMs);
}
