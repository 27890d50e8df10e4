import { ApiLimits, PUBLISHED_LIMITS, TokenBucket } from '../../tools/sim/limits';

describe('TokenBucket: the published API limits', () => {
  it('lets a burst through, then throttles until it refills at the sustained rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ rate: 20, burst: 100 }, () => now);
    let passed = 0;
    for (let i = 0; i < 150; i++) if (bucket.take()) passed++;
    expect(passed).toBe(100);
    expect(bucket.throttled).toBe(50);
    now += 1_000;
    passed = 0;
    for (let i = 0; i < 50; i++) if (bucket.take()) passed++;
    expect(passed).toBe(20);
    now += 60_000;
    passed = 0;
    for (let i = 0; i < 200; i++) if (bucket.take()) passed++;
    expect(passed).toBe(100); // never more than the burst, however long it rested
  });

  it('throws the throttling error the SDK retries, per API', () => {
    const limits = new ApiLimits(() => 0);
    for (let i = 0; i < PUBLISHED_LIMITS['ecs.DescribeTasks'].burst; i++) limits.take('ecs.DescribeTasks');
    expect(() => limits.take('ecs.DescribeTasks')).toThrow(
      expect.objectContaining({ name: 'ThrottlingException' }),
    );
    expect(() => limits.take('cloudmap.DiscoverInstances')).not.toThrow();
    expect(limits.figures()['ecs.DescribeTasks']).toEqual({ calls: 100, throttled: 1 });
  });
});
