import { runTrust } from '../../tools/sim/trust';

/**
 * The trust simulation (tools/sim/trust.ts): hours of deployments while Cloud Map lies (forged
 * IPs, other services' tasks, unknown ids), health checks start slowly or fail, and DescribeTasks
 * fails now and then. Every write is checked against ECS at the moment it lands.
 */
describe('Simulation: trust', () => {
  it.each([1, 2])(
    'seed %i: writes only addresses ECS gives a live task of the service, healthiest first',
    async (seed) => {
      // Act
      const r = await runTrust({ seed, durationMs: 3 * 60 * 60_000 });

      // Assess: the faults happened…
      expect(r.forged).toBeGreaterThan(0);
      expect(r.intruders).toBeGreaterThan(0);
      expect(r.ghosts).toBeGreaterThan(0);
      expect(r.ecsFailures).toBeGreaterThan(0);
      expect(r.tasksFailedHealthCheck).toBeGreaterThan(0);
      expect(r.untrustedInstancesCounted).toBeGreaterThan(0);
      expect(r.ecsFailedRecords).toBeGreaterThan(0);
      expect(r.writes).toBeGreaterThan(10);
      // …and none of them was written.
      expect(r.untrustedWrites).toBe(0);
      expect(r.otherServiceWritesNamed).toBe(0);
      expect(r.otherServiceWritesDiscovered).toBe(0);
      expect(r.writesOnEcsFailure).toBe(0);
      expect(r.writesToUnhealthyWhileHealthy).toBe(0);
      expect(r.writesToUnknownWhileHealthy).toBe(0);
      expect(r.liveAtEnd).toBe('8/8');
    },
  );
});
