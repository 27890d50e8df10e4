/**
 * The published API rate limits, per account and Region, as token buckets: a bucket holds `burst`
 * tokens, refills `rate` a second, and a call that finds it empty is throttled (ThrottlingException
 * / RequestLimitExceeded, which the SDK retries with backoff). Sources:
 * - ECS: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
 *   (DescribeTasks shares its bucket with ListTasks and the other task reads).
 * - Cloud Map: https://docs.aws.amazon.com/cloud-map/latest/dg/throttling.html
 *   (DiscoverInstances: 2,000 bucket, 1,000 a second refill).
 */
export interface BucketSpec {
  rate: number;
  burst: number;
}

export type LimitedApi = 'ecs.DescribeTasks' | 'ecs.DescribeServices' | 'cloudmap.DiscoverInstances';

export const PUBLISHED_LIMITS: Record<LimitedApi, BucketSpec> = {
  'ecs.DescribeTasks': { rate: 20, burst: 100 },
  'ecs.DescribeServices': { rate: 20, burst: 100 },
  'cloudmap.DiscoverInstances': { rate: 1_000, burst: 2_000 },
};

export class TokenBucket {
  private tokens: number;
  private at: number;
  taken = 0;
  throttled = 0;

  constructor(
    private readonly spec: BucketSpec,
    private readonly now: () => number,
  ) {
    this.tokens = spec.burst;
    this.at = now();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.spec.burst, this.tokens + ((now - this.at) / 1000) * this.spec.rate);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.taken++;
      return true;
    }
    this.throttled++;
    return false;
  }
}

export class ApiLimits {
  readonly buckets: Record<LimitedApi, TokenBucket>;
  constructor(now: () => number, specs: Record<LimitedApi, BucketSpec> = PUBLISHED_LIMITS) {
    this.buckets = {
      'ecs.DescribeTasks': new TokenBucket(specs['ecs.DescribeTasks'], now),
      'ecs.DescribeServices': new TokenBucket(specs['ecs.DescribeServices'], now),
      'cloudmap.DiscoverInstances': new TokenBucket(specs['cloudmap.DiscoverInstances'], now),
    };
  }

  /** Throws a throttling error when the API's bucket is empty. */
  take(api: LimitedApi): void {
    if (this.buckets[api].take()) return;
    throw Object.assign(new Error(`${api}: Rate exceeded (token bucket)`), {
      name: 'ThrottlingException',
      $retryable: {},
    });
  }

  figures(): Record<LimitedApi, { calls: number; throttled: number }> {
    const f = (b: TokenBucket) => ({ calls: b.taken, throttled: b.throttled });
    return {
      'ecs.DescribeTasks': f(this.buckets['ecs.DescribeTasks']),
      'ecs.DescribeServices': f(this.buckets['ecs.DescribeServices']),
      'cloudmap.DiscoverInstances': f(this.buckets['cloudmap.DiscoverInstances']),
    };
  }
}
