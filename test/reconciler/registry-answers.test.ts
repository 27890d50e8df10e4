/**
 * How the orchestration carries the registry client's answers into the decision record: the route
 * that wrote, a compare-and-swap conflict decided again, the URL policy's refusal and a server the
 * registry's scan holds disabled. The client's side of each (over HTTP, both generations) is in
 * test/registry; here the registry port is the in-memory one with the answer put in front of it.
 */
import { PolicyDeniedError } from '../../functions/lib/errors';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import type { MemoryRegistry } from '../../functions/lib/inmemory/world';
import type {
  CallContext,
  RegistryEntry,
  RegistryPort,
  WriteOptions,
  WriteResult,
} from '../../functions/lib/reconcile/ports';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import { CLUSTER_ARN, harness, REFS, TASKS } from './helpers';

/** The in-memory registry, with the given methods answered differently for one entry only. */
function fronted(
  inner: () => MemoryRegistry,
  override: Partial<RegistryPort>,
  path: string = REFS.mcpgw.path,
): RegistryPort {
  return {
    readEntry: (ref, ctx) =>
      ref.path === path && override.readEntry !== undefined
        ? override.readEntry(ref, ctx)
        : inner().readEntry(ref, ctx),
    writeUrl: (entry, url, ctx, options) =>
      entry.path === path && override.writeUrl !== undefined
        ? override.writeUrl(entry, url, ctx, options)
        : inner().writeUrl(entry, url, ctx),
  };
}

async function resync(overrides: Partial<RegistryPort>) {
  let h: ReturnType<typeof harness> | undefined;
  h = harness({ deps: { registry: fronted(() => (h as ReturnType<typeof harness>).registry, overrides) } });
  await h.handler(scheduledEvent('sched-registry-answers'));
  const mcpgw = h.records.find((r) => r.target.path === REFS.mcpgw.path) as DecisionRecord;
  return { h, mcpgw };
}

describe('Orchestration: registry answers in the decision record', () => {
  it('names the route that wrote and what it resets', async () => {
    // Prepare
    const writeUrl = async (entry: RegistryEntry, url: string, ctx: CallContext): Promise<WriteResult> => ({
      ...(await h0().registry.writeUrl(entry, url, ctx)),
      route: 'register',
      resets: ['id', 'registered_by'],
    });
    let holder: ReturnType<typeof harness> | undefined;
    const h0 = () => holder as ReturnType<typeof harness>;

    // Act
    holder = harness({ deps: { registry: fronted(() => h0().registry, { writeUrl }) } });
    await holder.handler(scheduledEvent('sched-route'));
    const record = holder.records.find((r) => r.target.path === REFS.mcpgw.path);

    // Assess
    expect(record).toMatchObject({
      action: 'update',
      reason: 'resolve-name',
      desiredUrl: `http://${TASKS.gw1.ipv4}:8003/`,
      write: { confirmed: true, route: 'register', resets: ['id', 'registered_by'] },
    });
  });

  it('decides again on the entry as changed under a conflicting write, and writes nothing it no longer needs', async () => {
    // Prepare: between our read and our write, someone points the entry at the live task already.
    const calls: string[] = [];
    const writeUrl = async (
      entry: RegistryEntry,
      _url: string,
      _ctx: CallContext,
      options?: WriteOptions,
    ) => {
      const current = { ...entry, url: `http://${TASKS.gw1.ipv4}:8003/` };
      const again = options?.redecide?.(current);
      calls.push(`redecide → ${again ?? 'no write'}`);
      return {
        url: current.url,
        confirmed: true,
        disabledAfterWrite: false,
        reenabled: false,
        route: 'patch' as const,
        superseded: again === undefined,
      };
    };

    // Act
    const { mcpgw } = await resync({ writeUrl });

    // Assess
    expect(calls).toEqual(['redecide → no write']);
    expect(mcpgw).toMatchObject({
      action: 'noop',
      reason: 'current-live',
      currentUrl: `http://${TASKS.gw1.ipv4}:8003/`,
      write: { superseded: true, route: 'patch' },
    });
  });

  it('reports a URL-policy refusal as policy-denied, not retryable, and counts it', async () => {
    // Prepare
    const writeUrl = async (entry: RegistryEntry, url: string): Promise<WriteResult> => {
      throw new PolicyDeniedError(entry.kind, entry.path, url, 'targets blocked/private IP 10.0.2.21');
    };

    // Act
    const { h, mcpgw } = await resync({ writeUrl });

    // Assess
    expect(mcpgw).toMatchObject({ action: 'error', reason: 'policy-denied', retryable: false });
    expect(mcpgw.detail).toContain('SSRF_ALLOWED_CIDRS');
    expect(h.metrics.get(MetricName.PolicyDenied)).toBe(1);
  });

  it('reports a managed server held disabled with security-pending on any read, without writing', async () => {
    // Prepare: the currenttime entry already points at its live task; the scan disabled it.
    let holder: ReturnType<typeof harness> | undefined;
    const h0 = () => holder as ReturnType<typeof harness>;
    const readEntry = async (ref: Parameters<RegistryPort['readEntry']>[0], ctx: CallContext) => {
      const entry = await h0().registry.readEntry(ref, ctx);
      return { ...entry, enabled: false, securityPending: true };
    };

    // Act
    holder = harness({
      deps: { registry: fronted(() => h0().registry, { readEntry }, REFS.currenttime.path) },
    });
    // A task event: the worker reads the entry (a resync's check reads the list page instead).
    await holder.handler(
      taskEvent({
        clusterArn: CLUSTER_ARN,
        taskId: TASKS.ct1.taskId,
        service: TASKS.ct1.service,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        version: 3,
        ipv4: TASKS.ct1.ipv4,
      }),
    );
    const record = holder.records.find((r) => r.target.path === REFS.currenttime.path);

    // Assess
    expect(record).toMatchObject({ action: 'noop', reason: 'current-live', securityPending: true });
    expect(holder.metrics.get(MetricName.ServerSecurityPending)).toBe(1);
    expect(holder.logger.lines.find((l) => l.message.includes(REFS.currenttime.path))?.level).toBe('warn');
    expect(holder.records.filter((r) => r.securityPending)).toHaveLength(1);
  });
});
