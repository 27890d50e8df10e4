/**
 * The local registry's two generations, checked route by route over HTTP against what the real
 * registry's source does (../shared/REGISTRY-API.md): the model must not be kinder than reality.
 */
import { type LocalRegistry, weakEtag } from '../../tools/local-registry';
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
