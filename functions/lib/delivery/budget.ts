/**
 * The time budget of one invocation. The handler reads `context.getRemainingTimeInMillis()` and
 * starts an entry's work, or a registry write, only when the worst case of what follows still fits
 * before the function timeout; what it does not start goes back to the queue, so nothing is ever
 * killed midway (a write cut off by the timeout may still land after a later one: a lost update).
 */
export interface RegistryCallLimits {
  /** The client's per-attempt deadline, ms. */
  timeoutMs: number;
  /** Attempts per call. */
  maxAttempts: number;
  /** The largest backoff between attempts, ms. */
  maxBackoffMs: number;
}

/** The longest one registry call can take with all its attempts. */
export function registryCallWorstMs(limits: RegistryCallLimits): number {
  return limits.maxAttempts * limits.timeoutMs + (limits.maxAttempts - 1) * limits.maxBackoffMs;
}

export interface BudgetRule {
  /** Worst case of a write: the write and its read-back. */
  writeMs: number;
  /** Worst case of an entry from its start: read, Cloud Map and ECS look-ups, then a write. */
  entryMs: number;
  /** Slack for the response and the SDK's own overhead. */
  marginMs: number;
}

export function budgetRule(
  limits: RegistryCallLimits,
  awsLookupWorstMs: number,
  marginMs = 1_000,
): BudgetRule {
  const call = registryCallWorstMs(limits);
  const writeMs = 2 * call;
  return { writeMs, entryMs: call + awsLookupWorstMs + writeMs, marginMs };
}

export function canStartEntry(remainingMs: number, rule: BudgetRule): boolean {
  return remainingMs >= rule.entryMs + rule.marginMs;
}

export function canStartWrite(remainingMs: number, rule: BudgetRule): boolean {
  return remainingMs >= rule.writeMs + rule.marginMs;
}

/** The shortest function timeout in which one entry can always be started and finished. */
export function minFunctionTimeoutMs(rule: BudgetRule): number {
  return rule.entryMs + rule.marginMs;
}
