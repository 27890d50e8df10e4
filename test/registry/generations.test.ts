/**
 * The client against the local registry speaking each generation, over real HTTP: the route each
 * write takes, what it keeps and resets, the compare-and-swap conflict, the URL policy, the auth
 * answers and the background scan seen by the later verification.
 */
import { PolicyDeniedError, WriteConflictError } from '../../functions/lib/errors';
import type { EntryRef, RegistryEntry } from '../../functions/lib/reconcile/ports';
import { KeycloakTokenProvider, StaticTokenProvider } from '../../functions/lib/registry/auth';
import {
  RegistryAuthError,
  RegistryPermissionError,
  RegistryUnavailableError,
} from '../../functions/lib/registry/http';
import { changedFields } from '../../functions/lib/registry/rewrite';
import { epochMsOf } from '../../functions/lib/registry/servers';
import { type LocalRegistry, type LocalRegistryOptions, weakEtag } from '../../tools/local-registry';
import {
  clientFor,
  countingContext,
  fixtureServer,
  requestLines,
  STATIC_TOKEN,
  startFixtureRegistry,
  thrownBy,
} from './helpers';

const TASK_SUBNET = '10.0.0.0/16';
const NEW_IP_URL = 'http://10.0.3.17:8002/';
const SLASHED: EntryRef = { kind: 'server', path: '/realserverfaketools/' };
const PLAIN: EntryRef = { kind: 'server', path: '/weather' };
const AGENT: EntryRef = { kind: 'agent', path: '/flight-booking-agent' };

/** A server without the trailing slash (PATCH can write it), with tools, metadata and private visibility. */
function plainServer(): Record<string, unknown> {
  return {
    ...fixtureServer('/realserverfaketools/'),
    server_name: 'Weather',
    path: PLAIN.path,
    mcp_endpoint: 'http://realserverfaketools-server:8002/mcp',
    metadata: { team: 'sre' },
    visibility: 'private',
  };
}

async function start(options: LocalRegistryOptions): Promise<LocalRegistry> {
  const registry = await startFixtureRegistry(options);
  registry.putServer(plainServer(), { enabled: true });
  registry.setEnabled(SLASHED.path, true);
  return registry;
}

/** A background scan's delay longer than any test: the test ends the scan itself (`finishScans`). */
const SCAN_HELD_MS = 3_600_000;

describe('registry 1.29', () => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await start({ generation: '1.29', allowedCidrs: [TASK_SUBNET] });
  });
  afterEach(() => registry.stop());

  test('a server is PATCHed with If-Match computed from updated_at; only the address (and the endpoint on its host) changes', async () => {
    const client = clientFor(registry);
    const before = registry.getServer(PLAIN.path) ?? {};
    const entry = await client.readEntry(PLAIN, countingContext());
    // The single read sends no ETag: the tag comes from the naive UTC updated_at.
    expect(entry.etag).toBe(`W/"${epochMsOf(before.updated_at)}"`);
    expect(entry.etag).toBe(weakEtag(before));
    registry.clearRequests();

    const result = await client.writeUrl(entry, 'http://10.0.3.17:8002/', countingContext());

    expect(result).toMatchObject({
      route: 'patch',
      resets: [],
      confirmed: true,
      url: 'http://10.0.3.17:8002/',
    });
    const patch = registry.requests().find((r) => r.method === 'PATCH');
    expect(patch?.path).toBe('/api/servers/weather');
    expect(patch?.ifMatch).toBe(entry.etag);
    expect(patch?.json).toEqual({
      proxy_pass_url: 'http://10.0.3.17:8002/',
      mcp_endpoint: 'http://10.0.3.17:8002/mcp',
    });
    const after = registry.getServer(PLAIN.path) ?? {};
    expect(after).toEqual({
      ...before,
      proxy_pass_url: 'http://10.0.3.17:8002/',
      mcp_endpoint: 'http://10.0.3.17:8002/mcp',
      updated_at: after.updated_at,
    });
    expect(after.updated_at).not.toBe(before.updated_at);
    expect(requestLines(registry).filter((l) => l.startsWith('POST'))).toEqual([]);
  });

  test('a 412 re-reads the entry and decides again from it; without a re-decision it throws WriteConflictError', async () => {
    const client = clientFor(registry);
    const stale = await client.readEntry(PLAIN, countingContext());
    // Another writer moves the entry after our read.
    const other = await fetch(`${registry.url}/api/servers/weather`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${STATIC_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ proxy_pass_url: 'http://10.0.9.9:8002/' }),
    });
    expect(other.status).toBe(200);

    const seen: RegistryEntry[] = [];
    const result = await client.writeUrl(stale, 'http://10.0.3.17:8002/', countingContext(), {
      redecide: (current) => {
        seen.push(current);
        return 'http://10.0.3.18:8002/';
      },
    });
    expect(seen.map((e) => e.url)).toEqual(['http://10.0.9.9:8002/']);
    expect(result).toMatchObject({ route: 'patch', url: 'http://10.0.3.18:8002/', confirmed: true });
    expect(
      registry
        .requests()
        .filter((r) => r.method === 'PATCH')
        .map((r) => r.status),
    ).toEqual([200, 412, 200]);

    // Stale again, no callback: nothing is overwritten, the caller gets the entry as it is now.
    const error = await thrownBy(() => client.writeUrl(stale, 'http://10.0.3.19:8002/', countingContext()));
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).retryable).toBe(true);
    expect(((error as WriteConflictError).current as RegistryEntry).url).toBe('http://10.0.3.18:8002/');
    expect(registry.getServer(PLAIN.path)?.proxy_pass_url).toBe('http://10.0.3.18:8002/');

    // A re-decision that no write is needed any more ends the write without one.
    const stale2 = await client.readEntry(PLAIN, countingContext());
    registry.putServer({
      ...(registry.getServer(PLAIN.path) ?? {}),
      updated_at: '2030-01-01T00:00:00.000001',
    });
    const done = await client.writeUrl(stale2, 'http://10.0.3.20:8002/', countingContext(), {
      redecide: () => undefined,
    });
    expect(done).toMatchObject({ route: 'none', superseded: true });
    expect(registry.getServer(PLAIN.path)?.proxy_pass_url).toBe('http://10.0.3.18:8002/');
  });

  test('a trailing-slash path (PATCH answers 500 after its If-Match and policy pass) is written by register at once, with the true num_tools, tools, metadata and visibility; the result says id and registered_by reset', async () => {
    const direct = await fetch(`${registry.url}/api/servers/realserverfaketools/`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${STATIC_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ proxy_pass_url: NEW_IP_URL }),
    });
    expect(direct.status).toBe(500);
    expect(await direct.json()).toEqual({ detail: 'Failed to save server' });

    const stored = registry.getServer(SLASHED.path) ?? {};
    registry.putServer({ ...stored, metadata: { owner: 'sre' }, visibility: 'private' });
    const before = registry.getServer(SLASHED.path) ?? {};
    const client = clientFor(registry);
    const entry = await client.readEntry(SLASHED, countingContext());
    expect(entry.record.tool_list).toEqual([]); // what the single read shows on 1.29
    registry.clearRequests();

    const result = await client.writeUrl(entry, NEW_IP_URL, countingContext());

    expect(result.route).toBe('register');
    expect(result.resets).toEqual(expect.arrayContaining(['id', 'registered_by']));
    // PATCH first, with the tag; after its 500: the list read giving the stored count and the last
    // look at once (1.29's list items show updated_at), register, the read-back.
    expect(requestLines(registry)).toEqual([
      'PATCH /api/servers/realserverfaketools/',
      'GET /api/servers',
      'POST /api/servers/register',
      'GET /api/servers/realserverfaketools/',
    ]);
    expect(registry.requests()[0]?.ifMatch).toBe(entry.etag);
    expect(registry.requests()[1]?.query.include_tools).toBe('false');
    const after = registry.getServer(SLASHED.path) ?? {};
    expect(after.num_tools).toBe(6);
    expect(before.num_tools).toBe(6);
    expect(after.metadata).toEqual({ owner: 'sre' });
    expect(after.visibility).toBe('private');
    expect(after.proxy_pass_url).toBe(NEW_IP_URL);
    expect(after.id).not.toBe(before.id);
  });

  test('PATCH’s 500 Failed to save server on a path without a trailing slash (a failed database update) is a retryable fault, not a reason to register', async () => {
    registry.faults.failNext(1, {
      status: 500,
      body: { detail: 'Failed to save server' },
      match: { method: 'PATCH' },
    });
    const client = clientFor(registry);
    const entry = await client.readEntry(PLAIN, countingContext());
    const before = registry.getServer(PLAIN.path);
    registry.clearRequests();

    const error = await thrownBy(() => client.writeUrl(entry, 'http://10.0.3.17:8002/', countingContext()));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as RegistryUnavailableError).retryable).toBe(true);
    expect(error.message).toContain('Failed to save server');
    expect(requestLines(registry)).toEqual(['PATCH /api/servers/weather']);
    expect(registry.getServer(PLAIN.path)).toEqual(before);
  });

  test('a registry that answers PATCH with 405 is written by register from then on (learnt once per client)', async () => {
    registry.faults.failNext(1, {
      status: 405,
      body: { detail: 'Method Not Allowed' },
      match: { method: 'PATCH' },
    });
    const client = clientFor(registry);
    const entry = await client.readEntry(PLAIN, countingContext());
    const first = await client.writeUrl(entry, 'http://10.0.3.17:8002/', countingContext());
    expect(first).toMatchObject({ route: 'register', confirmed: true });
    expect(registry.getServer(PLAIN.path)?.num_tools).toBe(6);
    const again = await client.readEntry(PLAIN, countingContext());
    const second = await client.writeUrl(again, 'http://10.0.3.18:8002/', countingContext());
    expect(second.route).toBe('register');
    expect(requestLines(registry).filter((l) => l.startsWith('PATCH'))).toEqual([
      'PATCH /api/servers/weather',
    ]);
  });

  test('the URL policy refusal: PATCH once on every path (the slash path too, before its 500), never register; a non-retryable policy-denied error naming SSRF_ALLOWED_CIDRS and the address', async () => {
    await registry.stop();
    registry = await start({ generation: '1.29' });
    const client = clientFor(registry);

    const plain = await client.readEntry(PLAIN, countingContext());
    registry.clearRequests();
    const patchError = await thrownBy(() =>
      client.writeUrl(plain, 'http://10.0.1.9:8002/', countingContext()),
    );
    expect(patchError).toBeInstanceOf(PolicyDeniedError);
    expect((patchError as PolicyDeniedError).code).toBe('policy-denied');
    expect((patchError as PolicyDeniedError).retryable).toBe(false);
    expect(patchError.message).toContain('SSRF_ALLOWED_CIDRS');
    expect(patchError.message).toContain('http://10.0.1.9:8002/');
    expect(patchError.message).toContain('targets blocked/private IP 10.0.1.9');
    expect(requestLines(registry)).toEqual(['PATCH /api/servers/weather']);

    const slashed = await client.readEntry(SLASHED, countingContext());
    const stored = registry.getServer(SLASHED.path);
    registry.clearRequests();
    const slashError = await thrownBy(() => client.writeUrl(slashed, NEW_IP_URL, countingContext()));
    expect(slashError).toBeInstanceOf(PolicyDeniedError);
    expect((slashError as PolicyDeniedError).retryable).toBe(false);
    expect(slashError.message).toContain('SSRF_ALLOWED_CIDRS');
    expect(slashError.message).toContain(NEW_IP_URL);
    expect(requestLines(registry)).toEqual(['PATCH /api/servers/realserverfaketools/']);
    expect(registry.getServer(SLASHED.path)).toEqual(stored);
  });

  test('where no PATCH ran (pinned to 1.0.16), register’s bare 500 for a private address is retried and reported as a retryable fault that names the policy as a possible cause, never as its refusal', async () => {
    await registry.stop();
    registry = await start({ generation: '1.29' });
    const client = clientFor(registry, { api: '1.0.16', maxAttempts: 3 });
    const entry = await client.readEntry(SLASHED, countingContext());
    const before = registry.getServer(SLASHED.path);

    const error = await thrownBy(() => client.writeUrl(entry, NEW_IP_URL, countingContext()));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error).not.toBeInstanceOf(PolicyDeniedError);
    expect((error as RegistryUnavailableError).retryable).toBe(true);
    expect(error.message).toContain('failed after 3 attempts: HTTP 500 (Service registration failed)');
    expect(error.message).toContain(`SSRF_ALLOWED_CIDRS must cover ${NEW_IP_URL}`);
    expect(requestLines(registry).filter((l) => l === 'POST /api/servers/register')).toHaveLength(3);
    expect(requestLines(registry).filter((l) => l.startsWith('PATCH'))).toEqual([]);
    expect(registry.getServer(SLASHED.path)).toEqual(before);
  });

  test('an agent is PATCHed {url} with its ETag, keeping its id; in reverse-proxy mode proxy_pass_url is the address and url stays', async () => {
    const client = clientFor(registry);
    const entry = await client.readEntry(AGENT, countingContext());
    const before = registry.getAgent(AGENT.path) ?? {};
    expect(entry.etag).toMatch(/^W\/"\d+"$/);
    registry.clearRequests();

    const result = await client.writeUrl(entry, 'http://10.0.3.21:9000/', countingContext());

    expect(result).toMatchObject({ route: 'patch', confirmed: true, resets: [] });
    const patch = registry.requests().find((r) => r.method === 'PATCH');
    expect(patch?.json).toEqual({ url: 'http://10.0.3.21:9000/' });
    expect(patch?.ifMatch).toBe(entry.etag);
    expect(registry.getAgent(AGENT.path)?.id).toBe(before.id);

    // Reverse-proxy mode: the gateway's address in url, the backend's in proxy_pass_url.
    const toProxy = await fetch(`${registry.url}/api/agents/flight-booking-agent`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${STATIC_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        url: 'https://gateway.example.com/agents/flight',
        proxy_pass_url: 'http://flight-booking-agent:9000/',
      }),
    });
    expect(toProxy.status).toBe(200);
    const proxyEntry = await client.readEntry(AGENT, countingContext());
    expect(proxyEntry.url).toBe('http://flight-booking-agent:9000/');
    const moved = await client.writeUrl(proxyEntry, 'http://10.0.3.22:9000/', countingContext());
    expect(moved).toMatchObject({ route: 'patch', url: 'http://10.0.3.22:9000/' });
    expect(registry.getAgent(AGENT.path)).toMatchObject({
      url: 'https://gateway.example.com/agents/flight',
      proxy_pass_url: 'http://10.0.3.22:9000/',
    });
  });

  test('pinned to 1.0.16 the client uses register and PUT even where PATCH exists; PUT says it resets the id and every field it changed', async () => {
    const client = clientFor(registry, { api: '1.0.16' });
    const agent = await client.readEntry(AGENT, countingContext());
    const before = registry.getAgent(AGENT.path) ?? {};
    const result = await client.writeUrl(agent, 'http://10.0.3.21:9000/', countingContext());
    expect(result.route).toBe('put');
    const after = registry.getAgent(AGENT.path) ?? {};
    expect(after.id).not.toBe(before.id);
    // Exactly the stored fields that changed, besides the address and the clock.
    expect([...(result.resets ?? [])].sort()).toEqual(
      changedFields(before, after, new Set(['url', 'updated_at'])),
    );
    expect(requestLines(registry)).not.toContain('GET /api/servers/weather');
  });

  test('the background scan: the write result sees the server enabled; the later verification reports it disabled with security-pending, and a late write-back of an older address', async () => {
    const client = clientFor(registry);
    // The scan runs in the background until the test ends it (finishScans), not on a timer.
    registry.faults.disableAfterWrite(1, { delayMs: SCAN_HELD_MS });
    const entry = await client.readEntry(PLAIN, countingContext());
    const first = await client.writeUrl(entry, 'http://10.0.3.17:8002/', countingContext());
    expect(first.disabledAfterWrite).toBe(false);

    // A second move lands before the first write's scan finishes.
    const moved = await client.readEntry(PLAIN, countingContext());
    await client.writeUrl(moved, 'http://10.0.3.18:8002/', countingContext());
    registry.finishScans();

    const verification = await client.verifyWrite(PLAIN, 'http://10.0.3.18:8002/', countingContext());
    expect(verification).toMatchObject({
      disabled: true,
      disabledSecurityPending: true,
      addressWrittenBack: true,
      confirmed: false,
      url: 'http://10.0.3.17:8002/',
    });
    // Every later read (the resync) reports it too.
    expect((await client.readEntry(PLAIN, countingContext())).securityPending).toBe(true);
  });

  test('a security-pending server is never re-registered with the tag as if it were the operator’s (PATCH, which keeps the tags, is tried)', async () => {
    const record = registry.getServer(SLASHED.path) ?? {};
    registry.putServer(
      { ...record, tags: [...((record.tags as string[]) ?? []), 'security-pending'] },
      { enabled: false },
    );
    const client = clientFor(registry);
    const entry = await client.readEntry(SLASHED, countingContext());
    expect(entry.securityPending).toBe(true);
    registry.clearRequests();
    const error = await thrownBy(() => client.writeUrl(entry, NEW_IP_URL, countingContext()));
    expect(error.message).toContain('security-pending');
    // PATCH leaves the tags alone (and answers 500 here); register, which would re-send them, is never called.
    expect(requestLines(registry)).toEqual(['PATCH /api/servers/realserverfaketools/']);
  });

  test('auth: an unknown token is 401 Authentication required (refreshed once); a non-admin principal sees no proxy_pass_url and gets 403 on writes', async () => {
    const wrong = clientFor(registry, { tokens: new StaticTokenProvider('T', { T: 'wrong' }) });
    const error = await thrownBy(() => wrong.readEntry(PLAIN, countingContext()));
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect(error.message).toContain('Authentication required');
    expect(registry.requests()).toHaveLength(2);

    await registry.stop();
    registry = await start({
      generation: '1.29',
      clients: { viewer: 's3cret' },
      nonAdminClients: ['viewer'],
    });
    const viewer = clientFor(registry, {
      tokens: new KeycloakTokenProvider({
        tokenUrl: registry.tokenUrl,
        secretId: 'viewer-secret',
        secrets: async () => ({ client_id: 'viewer', client_secret: 's3cret' }),
        timeoutMs: 30_000,
      }),
    });
    const readError = await thrownBy(() => viewer.readEntry(PLAIN, countingContext()));
    expect(readError.message).toContain('admin');
    const admin = clientFor(registry);
    const entry = await admin.readEntry(AGENT, countingContext());
    const writeError = await thrownBy(() =>
      viewer.writeUrl(entry, 'http://10.0.3.21:9000/', countingContext()),
    );
    expect(writeError).toBeInstanceOf(RegistryPermissionError);
    expect(writeError.message).toContain('You can only modify agents you registered');
    expect(writeError.message).toContain('registry admin');
  });
});

describe('registry v1.0.16', () => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await start({ generation: '1.0.16' });
  });
  afterEach(() => registry.stop());

  test('reads from the unpaged list, writes servers by register and agents by PUT, with no URL policy', async () => {
    const client = clientFor(registry);
    const server = await client.readEntry(PLAIN, countingContext());
    expect(server.etag).toBeUndefined();
    const result = await client.writeUrl(server, 'http://10.0.3.17:8002/', countingContext());
    expect(result).toMatchObject({ route: 'register', confirmed: true });
    const agent = await client.readEntry(AGENT, countingContext());
    const agentBefore = registry.getAgent(AGENT.path) ?? {};
    const agentResult = await client.writeUrl(agent, 'http://10.0.3.21:9000/', countingContext());
    expect(agentResult).toMatchObject({ route: 'put', confirmed: true });
    // v1.0.16's PUT rebuilds the card from its request model: what it dropped is named.
    expect([...(agentResult.resets ?? [])].sort()).toEqual(
      changedFields(agentBefore, registry.getAgent(AGENT.path) ?? {}, new Set(['url', 'updated_at'])),
    );
    expect(requestLines(registry).filter((l) => l.startsWith('PATCH'))).toEqual([]);
    expect(requestLines(registry)).toContain('GET /api/servers');
  });

  test('auth: a missing token is nginx’s HTML 401; a wrong token is 403 Access forbidden; both named after one refresh', async () => {
    const none = await fetch(`${registry.url}/api/servers`);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('text/html');
    const wrong = clientFor(registry, { tokens: new StaticTokenProvider('T', { T: 'wrong' }) });
    const error = await thrownBy(() => wrong.readEntry(PLAIN, countingContext()));
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect(error.message).toContain('Access forbidden');
    expect(registry.requests().map((r) => r.status)).toEqual([401, 403, 403]);

    registry.faults.unauthorizedNext(2);
    const html = await thrownBy(() => clientFor(registry).readEntry(PLAIN, countingContext()));
    expect(html).toBeInstanceOf(RegistryAuthError);
    expect(html.message).toContain("nginx's HTML error page");
  });

  test('the background scan after a register is reported by the later verification', async () => {
    const client = clientFor(registry);
    registry.faults.disableAfterWrite(1, { delayMs: SCAN_HELD_MS });
    const entry = await client.readEntry(PLAIN, countingContext());
    const result = await client.writeUrl(entry, 'http://10.0.3.17:8002/', countingContext());
    expect(result.disabledAfterWrite).toBe(false);
    registry.finishScans();
    const verification = await client.verifyWrite(PLAIN, 'http://10.0.3.17:8002/', countingContext());
    expect(verification).toMatchObject({
      disabledSecurityPending: true,
      addressWrittenBack: false,
      confirmed: true,
    });
  });
});
