/**
 * The function's memory size from the measured peak, and what a million events cost at each size.
 * Pure: the report passes the measured figures in.
 */

/**
 * AWS Lambda's on-demand prices for arm64 in US East (N. Virginia), first tier (the first 7.5
 * billion GB-seconds a month), from https://aws.amazon.com/lambda/pricing/ ("Arm Price" tab), read
 * December 2026. Other Regions differ; the free tier (1 M requests, 400,000 GB-s a month) is left out.
 */
export const LAMBDA_ARM64_PRICE = {
  perGbSecond: 0.0000133334,
  perRequest: 0.2 / 1_000_000,
  source: 'https://aws.amazon.com/lambda/pricing/ (Arm price, US East (N. Virginia), first tier)',
} as const;

/** Sizes considered (MB): the doubling steps from Lambda's minimum (it allows 128–10,240 in 1 MB steps). */
export const CANDIDATE_SIZES_MB = [128, 256, 512, 1024] as const;

/**
 * Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). The model scales the
 * CPU time measured on a full core of the benchmark machine by this factor below it.
 */
export const ONE_VCPU_MB = 1769;

/**
 * The peak must stay at or under this share of the size: V8's heap grows with larger batches and
 * bursts of records, and Lambda stops the invocation at the limit (an out-of-memory error).
 */
export const MAX_PEAK_SHARE = 0.6;

/**
 * A cold start (init plus the first invocation) must stay under this, modelled as the CPU time
 * measured on one full core scaled to the size's CPU share. A cold start is on the path of the
 * first event after every deployment or scale-out of the functions (up to 20 environments start at
 * once in a storm), and the stale-address bound of a storm is 10 s (the simulation assumes cold
 * starts of 300–900 ms).
 */
export const MAX_COLD_START_MS = 1_500;

export interface SizeOption {
  memoryMb: number;
  /** Measured peak / size. */
  peakShare: number;
  fits: boolean;
  /** Modelled cold start (init + first invocation) at this size, when one was measured. */
  coldStartMs?: number;
  /** Modelled duration of one event's invocation at this size. */
  durationMs: number;
  /** USD for one million one-event invocations at this size. */
  costPerMillion: number;
}

/** CPU time measured on one full core, scaled to the CPU share of `memoryMb`. */
export function scaledCpuMs(memoryMb: number, cpuMs: number): number {
  return cpuMs * Math.max(1, ONE_VCPU_MB / memoryMb);
}

/** An event's modelled duration at `memoryMb`: the assumed waits on AWS and the registry, plus CPU scaled to the share. */
export function modelledDurationMs(memoryMb: number, cpuMs: number, waitMs: number): number {
  return waitMs + scaledCpuMs(memoryMb, cpuMs);
}

/** USD for `invocations` invocations lasting `durationMs` each (billed per 1 ms) at `memoryMb`. */
export function lambdaCost(memoryMb: number, durationMs: number, invocations: number): number {
  const gbSeconds = (memoryMb / 1024) * (Math.ceil(durationMs) / 1000) * invocations;
  return gbSeconds * LAMBDA_ARM64_PRICE.perGbSecond + invocations * LAMBDA_ARM64_PRICE.perRequest;
}

/**
 * Every candidate size with its headroom, cold start and cost; the chosen one is the cheapest that
 * fits: the peak within `MAX_PEAK_SHARE` of it and, when `coldCpuMs` (init + first invocation, CPU
 * on one full core) was measured, the modelled cold start within `MAX_COLD_START_MS`.
 */
export function chooseMemory(
  peakRssMb: number,
  event: { cpuMs: number; waitMs: number },
  coldCpuMs?: number,
): { options: SizeOption[]; chosen: SizeOption | undefined } {
  const options = CANDIDATE_SIZES_MB.map((memoryMb): SizeOption => {
    const durationMs = modelledDurationMs(memoryMb, event.cpuMs, event.waitMs);
    const coldStartMs = coldCpuMs === undefined ? undefined : scaledCpuMs(memoryMb, coldCpuMs);
    return {
      memoryMb,
      peakShare: peakRssMb / memoryMb,
      fits:
        peakRssMb <= memoryMb * MAX_PEAK_SHARE &&
        (coldStartMs === undefined || coldStartMs <= MAX_COLD_START_MS),
      ...(coldStartMs === undefined ? {} : { coldStartMs }),
      durationMs,
      costPerMillion: lambdaCost(memoryMb, durationMs, 1_000_000),
    };
  });
  const chosen = options
    .filter((o) => o.fits)
    .sort((a, b) => a.costPerMillion - b.costPerMillion || a.memoryMb - b.memoryMb)[0];
  return { options, chosen };
}
