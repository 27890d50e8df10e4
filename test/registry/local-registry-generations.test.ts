/**
 * The local registry's generations, checked route by route over HTTP against what the real
 * registry's source does (../shared/REGISTRY-API.md): the model must not be kinder than reality.
 */
import {
  type LocalRegistry,
  type LocalRegistryOptions,
  startLocalRegistry,
  weakEtag,
} from '../../tools/local-registry';
import { STATIC_TOKEN, startFixtureRegistry } from './helpers';

async function call(
  registry: LocalRegistry,
  method: string,
  path: string,
  options: {
    json?: unknown;
    form?: Record<string, string>;
    headers?: Record<string, string>;
    token?: string | null;
  } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? STATIC_TOKEN}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const response = await fetch(`${registry.url}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // HTML pages stay text.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

const WEATHER = {
  server_name: 'Weather',
  description: 'weather',
  path: '/weather',
  proxy_pass_url: 'http://weather-server:8000/',
  tags: ['a'],
  num_tools: 2,
  tool_list: [{ name: 'x' }, { name: 'y' }],
  metadata: { team: 'sre' },
  visibility: 'private',
};

describe('1.29 model', () => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await startFixtureRegistry({ generation: '1.29', allowedCidrs: ['10.0.0.0/16'] });
    registry.putServer(WEATHER, { enabled: true });
  });
  afterEach(() => registry.stop());

  test('single read: id, registered_by, naive updated_at, no ETag, tools pruned', async () => {
    const read = await call(registry, 'GET', '/api/servers/weather');
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBeNull();
    expect(read.body).toMatchObject({
      tool_list: [],
      num_tools: 0,
      registered_by: 'admin',
      visibility: 'private',
    });
    expect((read.body as { updated_at: string }).updated_at).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/,
    );
    const list = await call(registry, 'GET', '/api/servers?include_tools=false');
    const item = (list.body as { servers: Record<string, unknown>[] }).servers.find(
      (s) => s.path === '/weather',
    );
    expect(item).toMatchObject({ num_tools: 2, tool_list: [] });
  });

  test('PATCH: If-Match weak tag (412 stale, 400 strong or malformed), 422 for registrant fields, 400 empty, 200 with ETag', async () => {
    const tag = weakEtag(registry.getServer('/weather') ?? {});
    const patch = (
      headers: Record<string, string>,
      json: unknown = { proxy_pass_url: 'http://10.0.1.9:8000/' },
    ) => call(registry, 'PATCH', '/api/servers/weather', { json, headers });
    expect((await patch({ 'if-match': 'W/"1"' })).status).toBe(412);
    expect((await patch({ 'if-match': tag.slice(2) })).status).toBe(400);
    expect((await patch({ 'if-match': 'nonsense' })).status).toBe(400);
    expect((await patch({ 'if-match': tag }, { id: 'x' })).status).toBe(422);
    // ServerCardPatch forbids fields it does not name (credentials included).
    expect(await patch({ 'if-match': tag }, { auth_scheme: 'bearer', nickname: 'x' })).toMatchObject({
      status: 422,
      body: { detail: [{ loc: ['body', 'auth_scheme'] }, { loc: ['body', 'nickname'] }] },
    });
    expect((await patch({ 'if-match': tag }, {})).status).toBe(400);
    const ok = await patch({ 'if-match': tag });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe(weakEtag(registry.getServer('/weather') ?? {}));
    expect((await patch({ 'if-match': tag })).status).toBe(412);
  });

  test('the URL policy: PATCH 400 naming the IP, register 500; the allow-list admits its range; hostnames pass', async () => {
    const denied = await call(registry, 'PATCH', '/api/servers/weather', {
      json: { proxy_pass_url: 'http://10.1.0.9:8000/' },
    });
    expect(denied).toMatchObject({
      status: 400,
      body: { detail: 'URL rejected by security policy: targets blocked/private IP 10.1.0.9' },
    });
    const form = {
      name: 'Weather',
      description: 'weather',
      path: '/weather',
      proxy_pass_url: 'http://127.0.0.1:8000/',
    };
    expect(await call(registry, 'POST', '/api/servers/register', { form })).toMatchObject({
      status: 500,
      body: { detail: 'Service registration failed' },
    });
    const named = await call(registry, 'PATCH', '/api/servers/weather', {
      json: { proxy_pass_url: 'http://weather:8000/' },
    });
    expect(named.status).toBe(200);
  });

  test('register resets id, registered_by, metadata and visibility; num_tools follows a non-empty tool_list_json, else the form', async () => {
    const before = registry.getServer('/weather') ?? {};
    const form = {
      name: 'Weather',
      description: 'weather',
      path: '/weather',
      proxy_pass_url: 'http://10.0.1.9:8000/',
      num_tools: '2',
      tool_list_json: '[]',
    };
    expect((await call(registry, 'POST', '/api/servers/register', { form })).status).toBe(201);
    const after = registry.getServer('/weather') ?? {};
    expect(after.id).not.toBe(before.id);
    expect(after).toMatchObject({ metadata: {}, visibility: 'public', num_tools: 2, tool_list: [] });
    const withTools = { ...form, tool_list_json: JSON.stringify([{ name: 'x' }]) };
    await call(registry, 'POST', '/api/servers/register', { form: withTools });
    expect(registry.getServer('/weather')?.num_tools).toBe(1);
  });

  test('a stored trailing slash cannot be PATCHed: 500 Failed to save server', async () => {
    const answer = await call(registry, 'PATCH', '/api/servers/currenttime/', { json: { description: 'x' } });
    expect(answer).toMatchObject({ status: 500, body: { detail: 'Failed to save server' } });
  });

  test('agents: GET has an ETag, PATCH honours If-Match, PUT gives a new id; the policy applies to url', async () => {
    const read = await call(registry, 'GET', '/api/agents/flight-booking-agent');
    const etag = read.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"\d+"$/);
    const path = '/api/agents/flight-booking-agent';
    expect(
      (
        await call(registry, 'PATCH', path, {
          json: { url: 'http://10.0.1.9:9000/' },
          headers: { 'if-match': 'W/"5"' },
        })
      ).status,
    ).toBe(412);
    expect(
      (
        await call(registry, 'PATCH', path, {
          json: { url: 'http://10.2.0.1:9000/' },
          headers: { 'if-match': etag },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call(registry, 'PATCH', path, {
          json: { url: 'http://10.0.1.9:9000/' },
          headers: { 'if-match': etag },
        })
      ).status,
    ).toBe(200);
    const id = registry.getAgent('/flight-booking-agent')?.id;
    const card = {
      ...(read.body as Record<string, unknown>),
      url: 'http://10.0.1.10:9000/',
      streaming: false,
    };
    expect((await call(registry, 'PUT', path, { json: card })).status).toBe(200);
    expect(registry.getAgent('/flight-booking-agent')?.id).not.toBe(id);
  });

  test('auth: no or unknown token is 401 Authentication required', async () => {
    expect(await call(registry, 'GET', '/api/servers', { token: null })).toMatchObject({
      status: 401,
      body: { error: 'Authentication required' },
    });
    expect((await call(registry, 'GET', '/api/servers', { token: 'nope' })).status).toBe(401);
  });
});

const SLASHED = '/currenttime/';
const patchUrl = (url: string) => ({ proxy_pass_url: url });

async function startCurrent(
  generation: '1.29' | '1.32',
  options: LocalRegistryOptions = {},
): Promise<LocalRegistry> {
  const registry = await startFixtureRegistry({ generation, allowedCidrs: ['10.0.0.0/16'], ...options });
  registry.putServer(WEATHER, { enabled: true });
  registry.setEnabled(SLASHED, true);
  return registry;
}

describe('1.29: PATCH of a trailing-slash path, and register failures', () => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await startCurrent('1.29');
  });
  afterEach(() => registry.stop());

  test('a stale If-Match is 412 and the policy 400 before the save fails; only an up-to-date allowed patch reaches the 500, and none of them changes anything or starts a scan', async () => {
    const before = registry.getServer(SLASHED) ?? {};
    const tag = weakEtag(before);
    registry.faults.disableAfterWrite(1);
    const patch = (json: unknown, ifMatch: string) =>
      call(registry, 'PATCH', '/api/servers/currenttime/', { json, headers: { 'if-match': ifMatch } });

    expect(await patch(patchUrl('http://10.0.3.17:8000/'), 'W/"1"')).toMatchObject({
      status: 412,
      body: { detail: 'If-Match does not match current server version' },
    });
    expect(await patch(patchUrl('http://10.9.0.1:8000/'), tag)).toMatchObject({
      status: 400,
      body: { detail: 'URL rejected by security policy: targets blocked/private IP 10.9.0.1' },
    });
    expect(await patch(patchUrl('http://10.0.3.17:8000/'), tag)).toMatchObject({
      status: 500,
      body: { detail: 'Failed to save server' },
    });

    expect(registry.getServer(SLASHED)).toEqual(before);
    expect(registry.isEnabled(SLASHED)).toBe(true);
    expect(registry.faults.pending().scans).toBe(1);
  });

  test('every PATCH re-checks the stored address: the handler saves the whole merged record', async () => {
    registry.putServer({
      ...(registry.getServer('/weather') ?? {}),
      proxy_pass_url: 'http://10.9.0.1:8000/',
    });
    const answer = await call(registry, 'PATCH', '/api/servers/weather', { json: { description: 'new' } });
    expect(answer.status).toBe(400);
    expect(registry.getServer('/weather')?.description).toBe('weather');
  });

  test('a change landing between the If-Match check and the save is overwritten by the record the handler read', async () => {
    const tag = weakEtag(registry.getServer('/weather') ?? {});
    registry.faults.editDuringNext(1, (r) => ({ ...r, description: 'operator edit' }));
    const answer = await call(registry, 'PATCH', '/api/servers/weather', {
      json: patchUrl('http://10.0.3.17:8000/'),
      headers: { 'if-match': tag },
    });
    expect(answer.status).toBe(200);
    expect(registry.getServer('/weather')).toMatchObject({
      description: 'weather',
      proxy_pass_url: 'http://10.0.3.17:8000/',
    });
    expect(registry.requests().at(-1)?.fault).toBe('edit');
  });

  test('register answers the same bare 500 for the policy, an injected storage error and a failed exact-path overwrite; none stores anything', async () => {
    const before = registry.getServer(SLASHED) ?? {};
    const form = (url: string, path = SLASHED) => ({
      name: String(before.server_name),
      description: String(before.description),
      path,
      proxy_pass_url: url,
    });
    const register = (f: Record<string, string>) =>
      call(registry, 'POST', '/api/servers/register', { form: f });
    const failed = { status: 500, body: { detail: 'Service registration failed' } };

    expect(await register(form('http://10.9.0.1:8000/'))).toEqual({ ...failed, headers: expect.anything() });
    registry.faults.registerErrorNext(2);
    expect(await register(form('http://10.0.3.17:8000/'))).toMatchObject(failed);
    expect(await register(form('http://10.0.3.17:8000/'))).toMatchObject(failed);
    expect(registry.getServer(SLASHED)).toEqual(before);
    expect(registry.requests().map((r) => r.fault)).toEqual([undefined, 'register-error', 'register-error']);
    // The lookup tolerates the other slash spelling, the update does not.
    expect(await register(form('http://10.0.3.17:8000/', '/currenttime'))).toMatchObject(failed);
    expect(registry.getServer(SLASHED)).toEqual(before);
    expect((await register(form('http://10.0.3.17:8000/'))).status).toBe(201);
    expect(registry.getServer(SLASHED)?.proxy_pass_url).toBe('http://10.0.3.17:8000/');
  });

  test('the 1.31/1.32 scan settings are refused on 1.29', async () => {
    await expect(
      startLocalRegistry({ generation: '1.29', scan: { allowUnsafeServers: true } }),
    ).rejects.toThrow(/generation 1.32/);
  });
});

describe('1.32 model', () => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await startCurrent('1.32');
  });
  afterEach(() => registry.stop());

  test.each(['/api/servers/currenttime/', '/api/servers/currenttime'])(
    'PATCH %s with If-Match sets only the sent fields and updated_at; id, registered_by, tools, metadata stay',
    async (route) => {
      const before = registry.getServer(SLASHED) ?? {};
      const answer = await call(registry, 'PATCH', route, {
        json: patchUrl('http://10.0.3.17:8000/'),
        headers: { 'if-match': weakEtag(before) },
      });
      expect(answer.status).toBe(200);
      const after = registry.getServer(SLASHED) ?? {};
      expect(answer.headers.get('etag')).toBe(weakEtag(after));
      expect(after).toEqual({
        ...before,
        proxy_pass_url: 'http://10.0.3.17:8000/',
        updated_at: after.updated_at,
      });
      expect(after.updated_at).not.toBe(before.updated_at);
      expect(registry.serverPaths()).toContain(SLASHED);
      expect(registry.serverPaths()).not.toContain('/currenttime');
    },
  );

  test('If-Match is checked in the update itself: a change landing after the handler’s read is a 412 and survives', async () => {
    const tag = weakEtag(registry.getServer(SLASHED) ?? {});
    registry.faults.editDuringNext(1, (r) => ({ ...r, description: 'operator edit' }));
    const answer = await call(registry, 'PATCH', '/api/servers/currenttime', {
      json: patchUrl('http://10.0.3.17:8000/'),
      headers: { 'if-match': tag },
    });
    expect(answer).toMatchObject({
      status: 412,
      body: { detail: 'If-Match does not match current server version' },
    });
    expect(registry.getServer(SLASHED)).toMatchObject({
      description: 'operator edit',
      proxy_pass_url: 'http://currenttime-server:8000/',
    });

    // Without If-Match the patch lands and the other writer's field is kept ($set of the sent fields).
    registry.faults.editDuringNext(1, (r) => ({ ...r, description: 'second edit' }));
    const blind = await call(registry, 'PATCH', '/api/servers/currenttime', {
      json: patchUrl('http://10.0.3.18:8000/'),
    });
    expect(blind.status).toBe(200);
    expect(registry.getServer(SLASHED)).toMatchObject({
      description: 'second edit',
      proxy_pass_url: 'http://10.0.3.18:8000/',
    });
  });

  test('only a PATCH that sends an address is checked by the policy; register still resets id and registered_by', async () => {
    registry.putServer({
      ...(registry.getServer('/weather') ?? {}),
      proxy_pass_url: 'http://10.9.0.1:8000/',
    });
    expect(
      (await call(registry, 'PATCH', '/api/servers/weather', { json: { description: 'x' } })).status,
    ).toBe(200);
    expect(
      (
        await call(registry, 'PATCH', '/api/servers/weather', {
          json: { mcp_endpoint: 'http://weather:8000/mcp' },
        })
      ).status,
    ).toBe(400);

    const before = registry.getServer(SLASHED) ?? {};
    const form = {
      name: String(before.server_name),
      description: String(before.description),
      path: SLASHED,
      proxy_pass_url: 'http://10.0.3.17:8000/',
    };
    const other = registry.issueToken('mcp-gateway-m2m');
    expect((await call(registry, 'POST', '/api/servers/register', { form, token: other })).status).toBe(201);
    const after = registry.getServer(SLASHED) ?? {};
    expect(after.id).not.toBe(before.id);
    expect(after.registered_by).toBe('mcp-gateway-m2m');
    expect(
      await call(registry, 'POST', '/api/servers/register', {
        form: { ...form, proxy_pass_url: 'http://10.9.0.1:8000/' },
      }),
    ).toMatchObject({
      status: 500,
      body: { detail: 'Service registration failed' },
    });
  });

  test('a PATCH that changes proxy_pass_url starts the scan; one that does not, does not', async () => {
    registry.faults.disableAfterWrite(1);
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: { description: 'x' } });
    expect(registry.faults.pending().scans).toBe(1);
    expect(registry.isEnabled(SLASHED)).toBe(true);
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.17:8000/') });
    expect(registry.faults.pending().scans).toBe(0);
    expect(registry.isEnabled(SLASHED)).toBe(false);
    expect(registry.getServer(SLASHED)?.tags).toContain('security-pending');
  });

  test('the background scan writes back the entry it was handed: an address PATCHed after it started is put back', async () => {
    registry.faults.disableAfterWrite(1, { delayMs: 60_000 });
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.17:8000/') });
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.18:8000/') });
    expect(registry.getServer(SLASHED)?.proxy_pass_url).toBe('http://10.0.3.18:8000/');
    expect(registry.finishScans()).toBe(1);
    expect(registry.getServer(SLASHED)).toMatchObject({ proxy_pass_url: 'http://10.0.3.17:8000/' });
    expect(registry.getServer(SLASHED)?.tags).toContain('security-pending');
    expect(registry.isEnabled(SLASHED)).toBe(false);
  });

  test('with staleWriteBack off the scan adds only its tag', async () => {
    await registry.stop();
    registry = await startCurrent('1.32', { scan: { staleWriteBack: false } });
    registry.faults.disableAfterWrite(1, { delayMs: 60_000 });
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.17:8000/') });
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.18:8000/') });
    expect(registry.finishScans()).toBe(1);
    expect(registry.getServer(SLASHED)?.proxy_pass_url).toBe('http://10.0.3.18:8000/');
    expect(registry.isEnabled(SLASHED)).toBe(false);
  });

  test('SECURITY_ALLOW_UNSAFE_SERVERS: an unsafe scan blocks the flagged tools and leaves the server enabled; toggle-tool unblocks one', async () => {
    await registry.stop();
    registry = await startCurrent('1.32', { scan: { allowUnsafeServers: true } });
    registry.faults.scanNext(1, { verdict: 'unsafe', tools: ['current_time_by_timezone'], tag: false });
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.17:8000/') });
    expect(registry.isEnabled(SLASHED)).toBe(true);
    expect(registry.getServer(SLASHED)?.blocked_tools).toEqual(['current_time_by_timezone']);
    const read = await call(registry, 'GET', '/api/servers/currenttime/');
    expect(read.body).toMatchObject({ is_enabled: true, blocked_tools: ['current_time_by_timezone'] });

    const unblock = await call(registry, 'POST', '/api/servers/toggle-tool/currenttime/', {
      json: { tool_name: 'current_time_by_timezone', enabled: true },
    });
    expect(unblock).toMatchObject({ status: 200, body: { blocked_tools: [] } });

    // A scan that could not run still disables by default (SECURITY_BLOCK_ON_SCAN_FAILURE=true).
    registry.faults.scanNext(1, { verdict: 'error' });
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.18:8000/') });
    expect(registry.isEnabled(SLASHED)).toBe(false);
  });

  test('SECURITY_BLOCK_ON_SCAN_FAILURE=false: a scan that could not run changes nothing; an unsafe one still disables', async () => {
    await registry.stop();
    registry = await startCurrent('1.32', { scan: { blockOnScanFailure: false } });
    const before = registry.getServer(SLASHED) ?? {};
    registry.faults.scanNext(1, { verdict: 'error' });
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.17:8000/') });
    expect(registry.isEnabled(SLASHED)).toBe(true);
    expect(registry.getServer(SLASHED)?.tags).toEqual(before.tags);
    registry.faults.scanNext(1, { verdict: 'unsafe' });
    await call(registry, 'PATCH', '/api/servers/currenttime/', { json: patchUrl('http://10.0.3.18:8000/') });
    expect(registry.isEnabled(SLASHED)).toBe(false);
  });

  test('editServer is another writer: the change is stored and the old If-Match goes stale', async () => {
    const tag = weakEtag(registry.getServer(SLASHED) ?? {});
    const edited = registry.editServer('/currenttime', { description: 'operator edit' });
    expect(edited).toMatchObject({ path: SLASHED, description: 'operator edit' });
    expect(weakEtag(edited)).not.toBe(tag);
    const stale = await call(registry, 'PATCH', '/api/servers/currenttime/', {
      json: patchUrl('http://10.0.3.17:8000/'),
      headers: { 'if-match': tag },
    });
    expect(stale.status).toBe(412);
  });

  test('PUT replaces the model’s fields under either slash spelling (unsent ones take their defaults) and keeps id and registered_by; 1.29 fails it on a stored trailing slash', async () => {
    const before = registry.getServer(SLASHED) ?? {};
    const card = {
      server_name: 'Current Time',
      description: 'time',
      proxy_pass_url: 'http://10.0.3.17:8000/',
    };
    expect(
      (await call(registry, 'PUT', '/api/servers/currenttime', { json: { description: 'x' } })).status,
    ).toBe(422);
    expect(
      (await call(registry, 'PUT', '/api/servers/currenttime', { json: { ...card, id: 'x' } })).status,
    ).toBe(422);
    const answer = await call(registry, 'PUT', '/api/servers/currenttime', {
      json: card,
      headers: { 'if-match': weakEtag(before) },
    });
    expect(answer.status).toBe(200);
    const after = registry.getServer(SLASHED) ?? {};
    expect(after).toMatchObject({
      ...card,
      id: before.id,
      registered_by: before.registered_by,
      tags: [],
      license: 'N/A',
      tool_list: null,
      visibility: 'public',
    });

    const old = await startCurrent('1.29');
    try {
      const oldBefore = old.getServer(SLASHED) ?? {};
      const failed = await call(old, 'PUT', '/api/servers/currenttime/', {
        json: card,
        headers: { 'if-match': weakEtag(oldBefore) },
      });
      expect(failed).toMatchObject({ status: 500, body: { detail: 'Failed to save server' } });
      expect(old.getServer(SLASHED)).toEqual(oldBefore);
    } finally {
      await old.stop();
    }
  });

  test('toggle-tool is a 1.31+ route: 405 on 1.29', async () => {
    const old = await startCurrent('1.29');
    try {
      const answer = await call(old, 'POST', '/api/servers/toggle-tool/currenttime/', {
        json: { tool_name: 'x', enabled: false },
      });
      expect(answer.status).toBe(405);
    } finally {
      await old.stop();
    }
  });
});

describe('1.0.16 model', () => {
  let registry: LocalRegistry;
  beforeEach(async () => {
    registry = await startFixtureRegistry({ generation: '1.0.16' });
  });
  afterEach(() => registry.stop());

  test('no single read, no PATCH (404 servers, 405 agents), unpaged list, no URL policy', async () => {
    expect((await call(registry, 'GET', '/api/servers/currenttime/')).status).toBe(404);
    expect(
      (await call(registry, 'PATCH', '/api/servers/currenttime/', { json: { description: 'x' } })).status,
    ).toBe(404);
    expect(
      (await call(registry, 'PATCH', '/api/agents/flight-booking-agent', { json: { url: 'http://x:1/' } }))
        .status,
    ).toBe(405);
    const list = await call(registry, 'GET', '/api/servers?limit=1&offset=1');
    expect(Object.keys(list.body as object)).toEqual(['servers']);
    const stored = registry.getServer('/currenttime/') ?? {};
    const form = {
      name: String(stored.server_name),
      description: String(stored.description),
      path: '/currenttime/',
      proxy_pass_url: 'http://10.0.1.9:8000/',
    };
    expect((await call(registry, 'POST', '/api/servers/register', { form })).status).toBe(201);
  });

  test('the UI’s whole-record read takes only a session cookie: 401 to a bearer token', async () => {
    const answer = await call(registry, 'GET', '/api/server_details/currenttime/');
    expect(answer).toMatchObject({ status: 401, body: { detail: 'Authentication required' } });
    // Without a token nginx refuses first, as for every /api/ route.
    expect((await call(registry, 'GET', '/api/server_details/currenttime/', { token: null })).body).toContain(
      'nginx',
    );
  });

  test('auth: a missing token is nginx’s HTML 401, a wrong one 403 Access forbidden', async () => {
    const none = await call(registry, 'GET', '/api/servers', { token: null });
    expect(none.status).toBe(401);
    expect(String(none.body)).toContain('<center>nginx</center>');
    expect(await call(registry, 'GET', '/api/servers', { token: 'nope' })).toMatchObject({
      status: 403,
      body: { error: 'Access forbidden' },
    });
  });
});
