/**
 * One write rule for servers on every generation, over real HTTP against the local registry:
 * PATCH with If-Match first on every path (the trailing-slash `/currenttime/` too), register only
 * where PATCH cannot save (1.29) or does not exist (v1.0.16). What the write resets is exactly
 * what changed in the stored record; what no read shows is named apart, as `mayReset`.
 */
import { PolicyDeniedError } from '../../functions/reconciler/errors';
import type { EntryRef } from '../../functions/reconciler/ports';
import { changedFields } from '../../functions/reconciler/registry/answers';
import { RegistryUnavailableError } from '../../functions/reconciler/registry/http';
import { FIELDS_HIDDEN_BY_V1_LIST } from '../../functions/reconciler/registry/rewrite';
import type { LocalRegistry, LocalRegistryOptions } from '../../tools/local-registry';
import { clientFor, countingContext, requestLines, startFixtureRegistry, thrownBy } from './helpers';

const TASK_SUBNET = '10.0.0.0/16';
const CURRENTTIME: EntryRef = { kind: 'server', path: '/currenttime/' };
const LIVE = 'http://10.0.1.11:8000/';
const REGISTER = { method: 'POST', path: '/api/servers/register' } as const;
const REGISTRATION_FAILED = { detail: 'Service registration failed' };

type Generation = '1.0.16' | '1.29' | '1.32';
const GENERATIONS: Generation[] = ['1.0.16', '1.29', '1.32'];
/** The generations with a compare-and-swap (If-Match) for servers. */
const WITH_IF_MATCH: Generation[] = ['1.29', '1.32'];

/** Stored fields a URL rewrite changes on purpose, or the registry on every write. */
const WRITTEN = new Set(['proxy_pass_url', 'updated_at']);

/** A naive UTC timestamp (the registry's `updated_at` shape) `aheadMs` from now. */
function laterStamp(aheadMs: number): string {
  return `${new Date(Date.now() + aheadMs).toISOString().slice(0, 23)}417`;
}

/** An operator's change to the stored record, as any other writer would make it (a new `updated_at`). */
function operatorEdit(registry: LocalRegistry, path: string, change: Record<string, unknown>): void {
  const stored = registry.getServer(path) ?? {};
  registry.putServer({
    ...stored,
    ...change,
    ...(registry.generation === '1.0.16' ? {} : { updated_at: laterStamp(60_000) }),
  });
}

/** The stored fields that differ between two copies of a record, besides the address and the clock. */
function storedChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return changedFields(before, after, WRITTEN);
}

function start(generation: Generation, allowedCidrs = [TASK_SUBNET]): Promise<LocalRegistry> {
  return startFixtureRegistry({
    generation: generation as LocalRegistryOptions['generation'],
    allowedCidrs,
  });
}

describe.each(GENERATIONS)('registry %s', (generation) => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await start(generation);
  });
  afterEach(() => registry.stop());

  const ifMatch = WITH_IF_MATCH.includes(generation) ? test : test.skip;

  ifMatch(
    'an operator edit landing between our read and our write to /currenttime/ survives, and the entry still ends at the live task',
    async () => {
      const client = clientFor(registry);
      const stale = await client.readEntry(CURRENTTIME, countingContext());
      operatorEdit(registry, CURRENTTIME.path, {
        description: 'Edited by the operator after our read',
        tags: ['time', 'edited'],
        metadata: { owner: 'ops' },
      });
      const seen: string[] = [];

      const result = await client.writeUrl(stale, LIVE, countingContext(), {
        redecide: (current) => {
          seen.push(current.record.description as string);
          return LIVE; // the edit did not touch the address: the live task is still the answer
        },
      });

      expect(result.confirmed).toBe(true);
      expect(seen).toEqual(['Edited by the operator after our read']);
      expect(registry.getServer(CURRENTTIME.path)).toMatchObject({
        proxy_pass_url: LIVE,
        description: 'Edited by the operator after our read',
        tags: ['time', 'edited'],
        metadata: { owner: 'ops' },
      });
      const patches = registry.requests().filter((r) => r.method === 'PATCH');
      // The stale tag is refused before anything is saved; the second PATCH carries the fresh one.
      expect(patches[0]?.status).toBe(412);
      expect(patches[0]?.ifMatch).toBe(stale.etag);
      expect(patches[1]?.ifMatch).not.toBe(stale.etag);
      expect(patches[1]?.ifMatch).toMatch(/^W\/"\d+"$/);
    },
  );

  test('with the URL policy open, register answering 500 Service registration failed fewer than maxAttempts times is retried and the write lands', async () => {
    const client = clientFor(registry, { maxAttempts: 3 });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    registry.clearRequests();
    registry.faults.failNext(2, { status: 500, body: REGISTRATION_FAILED, match: REGISTER });

    const result = await client.writeUrl(entry, LIVE, countingContext());

    expect(result.confirmed).toBe(true);
    expect(registry.getServer(CURRENTTIME.path)?.proxy_pass_url).toBe(LIVE);
    const registers = registry.requests().filter((r) => r.path === REGISTER.path);
    if (generation === '1.32') {
      // PATCH saves a slash path on 1.32: register is never needed.
      expect(result.route).toBe('patch');
      expect(registers).toEqual([]);
    } else {
      expect(result.route).toBe('register');
      expect(registers.map((r) => r.status)).toEqual([500, 500, 201]);
    }
  });

  test('register answering 500 on every attempt is a retryable fault, never the policy', async () => {
    if (generation === '1.32') return; // no register on 1.32 (PATCH saves); see the test above
    const client = clientFor(registry, { maxAttempts: 3 });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const before = registry.getServer(CURRENTTIME.path);
    registry.faults.failNext(3, { status: 500, body: REGISTRATION_FAILED, match: REGISTER });

    const error = await thrownBy(() => client.writeUrl(entry, LIVE, countingContext()));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error).not.toBeInstanceOf(PolicyDeniedError);
    expect((error as RegistryUnavailableError).retryable).toBe(true);
    expect(error.message).toContain('failed after 3 attempts');
    expect(registry.requests().filter((r) => r.path === REGISTER.path)).toHaveLength(3);
    expect(registry.getServer(CURRENTTIME.path)).toEqual(before);
  });

  test('resets names exactly the stored fields the write changed (whole records compared); mayReset what no read shows', async () => {
    operatorEdit(registry, CURRENTTIME.path, {
      visibility: 'private',
      metadata: { owner: 'ops' },
      ...(generation === '1.0.16'
        ? {}
        : { registered_by: 'operator' }),
      ...(generation === '1.0.16'
        ? {
            headers: [{ name: 'X-Backend-Key', value: 'k' }],
            allowed_groups: ['time-users'],
            sse_endpoint: 'http://currenttime-server:8000/sse',
            supported_transports: ['sse'],
          }
        : {}),
    });
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const before = registry.getServer(CURRENTTIME.path) ?? {};

    const result = await client.writeUrl(entry, LIVE, countingContext());

    const after = registry.getServer(CURRENTTIME.path) ?? {};
    const changed = storedChanges(before, after);
    const named = [...(result.resets ?? []), ...(result.mayReset ?? [])];
    expect(new Set(named).size).toBe(named.length); // each named once
    expect([...named].sort()).toEqual(changed);
    if (generation === '1.32') expect(result).toMatchObject({ route: 'patch', resets: [] });
    if (generation === '1.29') expect(result.resets).toEqual(expect.arrayContaining(['id', 'registered_by']));
    if (generation === '1.0.16') expect(result.mayReset).toEqual([...FIELDS_HIDDEN_BY_V1_LIST]);
  });
});

describe.each(WITH_IF_MATCH)('registry %s with the URL policy closed', (generation) => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await start(generation, []);
  });
  afterEach(() => registry.stop());

  test('the refusal is named (SSRF_ALLOWED_CIDRS and the address), attempted at most twice in all, and the record is unchanged', async () => {
    const client = clientFor(registry, { maxAttempts: 3 });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const before = registry.getServer(CURRENTTIME.path);
    registry.clearRequests();

    const error = await thrownBy(() => client.writeUrl(entry, LIVE, countingContext()));

    expect(error).toBeInstanceOf(PolicyDeniedError);
    expect((error as PolicyDeniedError).retryable).toBe(false);
    expect(error.message).toContain('SSRF_ALLOWED_CIDRS');
    expect(error.message).toContain(LIVE);
    const writes = registry.requests().filter((r) => r.method !== 'GET');
    expect(writes.length).toBeLessThanOrEqual(2);
    expect(requestLines(registry)).toEqual(['PATCH /api/servers/currenttime/']);
    expect(registry.getServer(CURRENTTIME.path)).toEqual(before);
  });
});
