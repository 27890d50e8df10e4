import type { ApiName, CallContext } from './ports';

/** Remote calls by API, as a decision record reports them. */
export type CallCounts = Partial<Record<ApiName, number>>;

/** Counts calls by API; `take` hands over the counts and starts again. */
export class CountingContext implements CallContext {
  private counts: CallCounts = {};

  count(api: ApiName): void {
    this.counts[api] = (this.counts[api] ?? 0) + 1;
  }

  take(): CallCounts {
    const taken = this.counts;
    this.counts = {};
    return taken;
  }
}

/** Adds `from` into `into` and returns `into`. */
export function mergeCalls(into: CallCounts, from: CallCounts): CallCounts {
  for (const [api, n] of Object.entries(from) as [ApiName, number][]) into[api] = (into[api] ?? 0) + n;
  return into;
}
