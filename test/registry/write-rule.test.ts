/**
 * One write rule for servers on every generation, over real HTTP against the local registry:
 * PATCH with If-Match first on every path (the trailing-slash `/currenttime/` too), register only
 * where PATCH cannot save (1.29) or does not exist (v1.0.16). What the write resets is exactly
 * what changed in the stored record; what no read shows is named apart, as `mayReset`.
 */
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { reportVerification } from '../../functions/fanout/verify';
import { loadConfigFile } from '../../functions/lib/config/config';
import { PolicyDeniedError } from '../../functions/lib/errors';
import type { EntryRef } from '../../functions/lib/reconcile/ports';
import type { TokenProvider } from '../../functions/lib/registry/auth';
import { RegistryUnavailableError } from '../../functions/lib/registry/http';
import { changedFields, FIELDS_HIDDEN_BY_V1_LIST } from '../../functions/lib/registry/rewrite';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import {
  MetricName,
  type MetricNameValue,
  type MetricsSink,
  SILENT_LOGGER,
} from '../../functions/lib/telemetry/telemetry';
import type { Generation, LocalRegistry, LoggedRequest } from '../../tools/local-registry';
import { embeddedEnvironment, loadWorld } from '../../tools/replay/environment';
import { localRegistryFactory } from '../../tools/replay/local-registry';
import { replay, scenarioDeliveries } from '../../tools/replay/runner';
import { loadInputs } from '../../tools/replay/scenario';
import {
  capturingLogger,
  clientFor,
  countingContext,
  requestLines,
  STATIC_TOKEN,
  startFixtureRegistry,
  thrownBy,
} from './helpers';

const TASK_SUBNET = '10.0.0.0/16';
const CURRENTTIME: EntryRef = { kind: 'server', path: '/currenttime/' };
const LIVE = 'http://10.0.1.11:8000/';
const NEXT = 'http://10.0.1.12:8000/';
const REGISTER_PATH = '/api/servers/register';

const GENERATIONS: Generation[] = ['1.0.16', '1.29', '1.32'];
/** The generations with a compare-and-swap (If-Match) for servers, and the URL policy. */
const WITH_IF_MATCH: Generation[] = ['1.29', '1.32'];
/** The generations on which a `/currenttime/` write ends in register-overwrite. */
const REGISTERING: Generation[] = ['1.0.16', '1.29'];

/** Stored fields a URL rewrite changes on purpose, or the registry on every write. */
const WRITTEN = new Set(['proxy_pass_url', 'updated_at']);

/** Another writer's change to the stored record (on 1.29/1.32 its `updated_at`, so the tag, moves). */
function operatorEdit(registry: LocalRegistry, path: string, change: Record<string, unknown>): void {
  registry.editServer(path, change);
}

function start(generation: Generation, allowedCidrs = [TASK_SUBNET]): Promise<LocalRegistry> {
  return startFixtureRegistry({ generation, allowedCidrs });
}

/** A metrics sink that tallies counts by name. */
function tally(): MetricsSink & { counts: Partial<Record<MetricNameValue, number>> } {
  const counts: Partial<Record<MetricNameValue, number>> = {};
  return {
    counts,
    count: (name, value = 1) => {
      counts[name] = (counts[name] ?? 0) + value;
    },
    milliseconds: () => undefined,
  };
}

describe.each(GENERATIONS)('registry %s', (generation) => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await start(generation);
  });
  afterEach(() => registry.stop());

  test('with the URL policy open, register failing inside (500 Service registration failed) fewer than maxAttempts times is retried and the write lands', async () => {
    const client = clientFor(registry, { maxAttempts: 3 });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    registry.clearRequests();
    registry.faults.registerErrorNext(2);

    const result = await client.writeUrl(entry, LIVE, countingContext());

    expect(result.confirmed).toBe(true);
    expect(registry.getServer(CURRENTTIME.path)?.proxy_pass_url).toBe(LIVE);
    const registers = registry.requests().filter((r) => r.path === REGISTER_PATH);
    if (generation === '1.32') {
      // PATCH saves a slash path on 1.32: register is never called, and the armed failures stay armed.
      expect(result.route).toBe('patch');
      expect(registers).toEqual([]);
    } else {
      expect(result.route).toBe('register');
      expect(registers.map((r) => r.status)).toEqual([500, 500, 201]);
      expect(registers.map((r) => r.form?.proxy_pass_url)).toEqual([LIVE, LIVE, LIVE]);
    }
  });

  test('resets names exactly the stored fields the write changed (whole stored records compared); mayReset what no read shows', async () => {
    operatorEdit(registry, CURRENTTIME.path, {
      visibility: 'private',
      metadata: { owner: 'ops' },
      ...(generation === '1.0.16'
        ? {
            headers: [{ name: 'X-Backend-Key', value: 'k' }],
            allowed_groups: ['time-users'],
            sse_endpoint: 'http://elsewhere:8000/sse',
            supported_transports: ['sse'],
          }
        : { registered_by: 'operator' }),
    });
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const before = registry.getServer(CURRENTTIME.path) ?? {};

    const result = await client.writeUrl(entry, LIVE, countingContext());

    const after = registry.getServer(CURRENTTIME.path) ?? {};
    const named = [...(result.resets ?? []), ...(result.mayReset ?? [])];
    expect(new Set(named).size).toBe(named.length); // each named once
    expect([...named].sort()).toEqual(changedFields(before, after, WRITTEN));
    if (generation === '1.32') expect(result).toMatchObject({ route: 'patch', resets: [] });
    if (generation === '1.29')
      expect(result.resets).toEqual(expect.arrayContaining(['id', 'registered_by', 'tool_list']));
    if (generation === '1.0.16') {
      expect(result.resets).toEqual([]);
      expect(result.mayReset).toEqual([...FIELDS_HIDDEN_BY_V1_LIST]);
    }
  });
});

describe.each(REGISTERING)('registry %s, register failing on every attempt', (generation) => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await start(generation);
  });
  afterEach(() => registry.stop());

  test('is a retryable fault after maxAttempts attempts, never read as the policy; the record is unchanged', async () => {
    const client = clientFor(registry, { maxAttempts: 3 });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const before = registry.getServer(CURRENTTIME.path);
    registry.faults.registerErrorNext(3);

    const error = await thrownBy(() => client.writeUrl(entry, LIVE, countingContext()));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error).not.toBeInstanceOf(PolicyDeniedError);
    expect((error as RegistryUnavailableError).retryable).toBe(true);
    expect(error.message).toContain('failed after 3 attempts: HTTP 500 (Service registration failed');
    expect(registry.requests().filter((r) => r.path === REGISTER_PATH)).toHaveLength(3);
    expect(registry.getServer(CURRENTTIME.path)).toEqual(before);
  });
});

describe.each(WITH_IF_MATCH)('registry %s', (generation) => {
  let registry: LocalRegistry;
  afterEach(() => registry.stop());

  test('an operator edit landing between our read and our write to /currenttime/ survives, and the entry still ends at the live task', async () => {
    registry = await start(generation);
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
        seen.push(String(current.record.description));
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
    // The stale tag is refused before anything is saved; the next PATCH carries the fresh one.
    expect(patches[0]).toMatchObject({ status: 412, ifMatch: stale.etag });
    expect(patches[1]?.ifMatch).toMatch(/^W\/"\d+"$/);
    expect(patches[1]?.ifMatch).not.toBe(stale.etag);
    expect(patches[1]?.status).toBe(generation === '1.32' ? 200 : 500);
  });

  test('with the URL policy closed the refusal is named (SSRF_ALLOWED_CIDRS and the address), attempted at most twice in all, and the record is unchanged', async () => {
    registry = await start(generation, []);
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
    // PATCH answers the policy before it could fail to save: one request, no register.
    expect(requestLines(registry)).toEqual(['PATCH /api/servers/currenttime/']);
    expect(registry.getServer(CURRENTTIME.path)).toEqual(before);
  });
});

/**
 * A token provider that lands another writer's change at a chosen point of the client's sequence:
 * when the client asks for the token of its next request and the last request the registry
 * answered matches `after` (the answers are in by then). Once.
 */
function editAfter(
  registry: LocalRegistry,
  after: (last: LoggedRequest) => boolean,
  edit: () => void,
): TokenProvider & { fired: boolean } {
  const provider = {
    fired: false,
    getToken: async () => {
      const last = registry.requests().at(-1);
      if (!provider.fired && last !== undefined && after(last)) {
        provider.fired = true;
        edit();
      }
      return STATIC_TOKEN;
    },
  };
  return provider;
}

describe('registry 1.29: the register fallback and its remaining window', () => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await start('1.29');
  });
  afterEach(() => registry.stop());

  const EDIT = { description: 'Edited by the operator during our write' };

  test('an edit landing after the PATCH’s If-Match check (before our last look) is re-decided, never overwritten', async () => {
    const tokens = editAfter(
      registry,
      (last) => last.method === 'PATCH' && last.status === 500,
      () => operatorEdit(registry, CURRENTTIME.path, EDIT),
    );
    const client = clientFor(registry, { tokens });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    registry.clearRequests();
    const redecided: string[] = [];

    const result = await client.writeUrl(entry, LIVE, countingContext(), {
      redecide: (current) => {
        redecided.push(String(current.record.description));
        return LIVE;
      },
    });

    expect(tokens.fired).toBe(true);
    expect(redecided).toEqual([EDIT.description]);
    expect(result).toMatchObject({ route: 'register', confirmed: true });
    expect(registry.getServer(CURRENTTIME.path)).toMatchObject({ ...EDIT, proxy_pass_url: LIVE });
    // The last look is the list read (1.29's items show updated_at): it saw the edit, so the entry
    // was read again and re-decided; the second round's look is again the list, with no single
    // read between it and register (one request fewer than a look by single read).
    expect(requestLines(registry)).toEqual([
      'PATCH /api/servers/currenttime/',
      'GET /api/servers',
      'GET /api/servers/currenttime/',
      'PATCH /api/servers/currenttime/',
      'GET /api/servers',
      'POST /api/servers/register',
      'GET /api/servers/currenttime/',
    ]);
    // One register, sent after a look that saw the edit and a second PATCH with the fresh tag.
    expect(requestLines(registry).filter((l) => l.startsWith('POST'))).toEqual([
      'POST /api/servers/register',
    ]);
    expect(
      registry
        .requests()
        .filter((r) => r.method === 'PATCH')
        .map((r) => r.status),
    ).toEqual([500, 500]);
  });

  test('an edit landing in the one round trip between our last look and register’s save is lost (1.32 has no such window)', async () => {
    const tokens = editAfter(
      registry,
      // The last look: the list read after the PATCH (its items show updated_at).
      (last) =>
        last.method === 'GET' &&
        last.path === '/api/servers' &&
        registry.requests().some((r) => r.method === 'PATCH'),
      () => operatorEdit(registry, CURRENTTIME.path, EDIT),
    );
    const client = clientFor(registry, { tokens });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    registry.clearRequests();

    const result = await client.writeUrl(entry, LIVE, countingContext());

    expect(tokens.fired).toBe(true);
    expect(result).toMatchObject({ route: 'register', confirmed: true });
    expect(requestLines(registry)).toEqual([
      'PATCH /api/servers/currenttime/',
      'GET /api/servers',
      'POST /api/servers/register',
      'GET /api/servers/currenttime/',
    ]);
    expect(registry.getServer(CURRENTTIME.path)?.description).not.toBe(EDIT.description);
  });
});

describe('registry 1.32', () => {
  let registry: LocalRegistry;
  afterEach(() => registry.stop());

  test('/currenttime/ is written by PATCH with If-Match and no register request; id, registered_by, num_tools, metadata, visibility and tags stay', async () => {
    registry = await start('1.32');
    operatorEdit(registry, CURRENTTIME.path, {
      visibility: 'private',
      registered_by: 'operator',
      metadata: { owner: 'ops' },
    });
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const before = registry.getServer(CURRENTTIME.path) ?? {};
    registry.clearRequests();

    const result = await client.writeUrl(entry, LIVE, countingContext());

    expect(result).toMatchObject({ route: 'patch', confirmed: true, resets: [] });
    expect(requestLines(registry)).toEqual([
      'PATCH /api/servers/currenttime/',
      'GET /api/servers/currenttime/',
    ]);
    const patch = registry.requests()[0];
    expect(patch?.ifMatch).toBe(entry.etag);
    expect(patch?.json).toEqual({ proxy_pass_url: LIVE });
    const after = registry.getServer(CURRENTTIME.path) ?? {};
    for (const field of ['id', 'registered_by', 'num_tools', 'metadata', 'visibility', 'tags'])
      expect([field, after[field]]).toEqual([field, before[field]]);
    expect(after).toEqual({ ...before, proxy_pass_url: LIVE, updated_at: after.updated_at });
  });

  test('the scan’s stale write-back puts the older address back: the delayed verification reports it, names blocked tools, and the next write puts the live task back', async () => {
    registry = await startFixtureRegistry({
      generation: '1.32',
      allowedCidrs: [TASK_SUBNET],
      scan: { allowUnsafeServers: true },
    });
    registry.setEnabled(CURRENTTIME.path, true);
    const client = clientFor(registry);
    // The first write's scan runs in the background; a second write lands before it finishes.
    registry.faults.scanNext(1, {
      verdict: 'unsafe',
      delayMs: 60_000,
      tag: false,
      tools: ['current_time_by_timezone'],
    });
    const first = await client.readEntry(CURRENTTIME, countingContext());
    await client.writeUrl(first, LIVE, countingContext());
    const second = await client.readEntry(CURRENTTIME, countingContext());
    await client.writeUrl(second, NEXT, countingContext());
    expect(registry.finishScans()).toBe(1);

    const found = await client.verifyWrite(CURRENTTIME, NEXT, countingContext());

    expect(found).toMatchObject({
      url: LIVE,
      confirmed: false,
      addressWrittenBack: true,
      disabled: false,
      blockedTools: ['current_time_by_timezone'],
    });
    const logger = capturingLogger();
    const metrics = tally();
    const record = reportVerification(
      { ...CURRENTTIME, written: NEXT, previous: LIVE, eventId: 'e-1', at: new Date().toISOString() },
      found,
      logger,
      metrics,
    );
    expect(record).toMatchObject({
      addressWrittenBack: true,
      url: LIVE,
      blockedTools: ['current_time_by_timezone'],
    });
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'server /currenttime/: the registry blocks 1 tool(s) after its security scan (current_time_by_timezone); the server stays enabled',
      `server /currenttime/ has ${LIVE} back after our write of ${NEXT}: reconciling it again`,
    ]);
    // The reconcile the warning announces: read, PATCH the live task back.
    const again = await client.readEntry(CURRENTTIME, countingContext());
    const rewritten = await client.writeUrl(again, NEXT, countingContext());
    expect(rewritten).toMatchObject({ route: 'patch', confirmed: true });
    expect(registry.getServer(CURRENTTIME.path)?.proxy_pass_url).toBe(NEXT);
  });
});

describe('registry v1.0.16 (file backend, no whole-record read for tokens)', () => {
  let registry: LocalRegistry;
  afterEach(() => registry.stop());

  test('a rewrite of a server with headers, private visibility, allowed_groups, sse_endpoint and supported_transports ["sse"] names every field it may have reset', async () => {
    registry = await start('1.0.16');
    const seeded: Record<string, unknown> = {
      headers: [{ name: 'X-Backend-Key', value: 'k' }],
      visibility: 'private',
      allowed_groups: ['time-users'],
      sse_endpoint: 'http://currenttime-server:8000/sse',
      supported_transports: ['sse'],
    };
    registry.putServer({ ...registry.getServer(CURRENTTIME.path), ...seeded });
    // The one route that shows the whole record is the UI's: it refuses a bearer token.
    const details = await fetch(`${registry.url}/api/server_details/currenttime/`, {
      headers: { authorization: `Bearer ${STATIC_TOKEN}` },
    });
    expect(details.status).toBe(401);
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    // The list hides all five: nothing the client reads can carry them into the write.
    for (const field of FIELDS_HIDDEN_BY_V1_LIST) expect(entry.record[field]).toBeUndefined();
    expect(client.fieldsMayReset(entry)).toEqual([...FIELDS_HIDDEN_BY_V1_LIST]);

    const result = await client.writeUrl(entry, LIVE, countingContext());

    expect(result).toMatchObject({ route: 'register', confirmed: true });
    const after = registry.getServer(CURRENTTIME.path) ?? {};
    const lost = Object.keys(seeded).filter((field) => !isDeepStrictEqual(after[field], seeded[field]));
    // The file backend dropped them (the registry's defaults now); each one is named, none claimed kept.
    expect(lost.sort()).toEqual([...FIELDS_HIDDEN_BY_V1_LIST]);
    expect(result.resets).toEqual([]);
    expect(result.mayReset).toEqual([...FIELDS_HIDDEN_BY_V1_LIST]);
  });
});

describe('registry v1.0.16 through the reconciler', () => {
  test('the decision record names them: before the write in a dry run (what plan shows), on the write, with the WriteMayReset metric', async () => {
    const events = resolve(__dirname, '..', '..', 'events');
    const config = loadConfigFile(join(events, 'config.json'));
    const seed = loadWorld(join(events, 'world.json'));
    const { units } = loadInputs([join(events, 'scenarios', '01-first-resync.json')]);
    const scenario = units[0]?.scenario;
    if (scenario === undefined) throw new Error('scenario 01 is missing');
    const currenttime = async (
      dryRun: boolean,
    ): Promise<{ record: DecisionRecord | undefined; metrics: ReturnType<typeof tally> }> => {
      const metrics = tally();
      const io = { logger: SILENT_LOGGER, metrics };
      const env = await embeddedEnvironment({
        seed,
        config: { ...config, dryRun },
        ...io,
        registry: localRegistryFactory(config, { generation: '1.0.16' }),
      });
      try {
        const results = await replay(env, 'v1.0.16', scenarioDeliveries(scenario.steps), io);
        const record = results
          .flatMap((r) => r.records)
          .find((r) => r.target.path === CURRENTTIME.path && r.action === 'update');
        return { record, metrics };
      } finally {
        await env.close();
      }
    };
    const plan = await currenttime(true);
    expect(plan.record).toMatchObject({
      action: 'update',
      dryRun: true,
      mayReset: [...FIELDS_HIDDEN_BY_V1_LIST],
    });
    expect(plan.record?.write).toBeUndefined();
    expect(plan.metrics.counts[MetricName.WriteMayReset]).toBeUndefined();

    const run = await currenttime(false);
    expect(run.record).toMatchObject({
      action: 'update',
      dryRun: false,
      write: { route: 'register', confirmed: true },
      mayReset: [...FIELDS_HIDDEN_BY_V1_LIST],
    });
    expect(run.metrics.counts[MetricName.WriteMayReset]).toBeGreaterThanOrEqual(1);
  });
});
