import { RetryableError } from '../errors';
import type { CallContext, EntryRef, RegistryEntry, RegistryPort, WriteOptions, WriteResult } from '../ports';
import { type BudgetRule, canStartWrite } from './budget';

/**
 * The registry port of the queue path: a write is started only while the invocation's remaining
 * time covers its worst case (the write and its read-back); otherwise it fails retryably before
 * anything is sent, and the entry is remembered as not started (redelivered at once).
 */
export class BudgetedRegistry implements RegistryPort {
  /** The running invocation's clock (one invocation at a time per container). */
  remainingMs: (() => number) | undefined;
  /** Entries whose write was refused in the running invocation (`kind:path`). */
  readonly refused = new Set<string>();

  constructor(
    private readonly inner: RegistryPort,
    private readonly budget: BudgetRule,
    private readonly onRefused?: (ref: EntryRef, remainingMs: number) => void,
  ) {}

  readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry> {
    return this.inner.readEntry(ref, ctx);
  }

  writeUrl(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    options?: WriteOptions,
  ): Promise<WriteResult> {
    const remaining = this.remainingMs?.();
    if (remaining !== undefined && !canStartWrite(remaining, this.budget)) {
      this.refused.add(`${entry.kind}:${entry.path}`);
      this.onRefused?.(entry, remaining);
      return Promise.reject(
        new RetryableError(
          `not enough time left for a registry write of ${entry.kind} ${entry.path} (${remaining} ms); handed back unstarted`,
        ),
      );
    }
    return this.inner.writeUrl(entry, newUrl, ctx, options);
  }

  /** The inner registry's answer: a dry run's record names the fields a write may reset. */
  fieldsMayReset(entry: RegistryEntry): string[] {
    return this.inner.fieldsMayReset?.(entry) ?? [];
  }
}
