/**
 * The local registry itself, spoken to with plain fetch: the contract it promises (overwrite
 * defaults, status codes, paging, auth, agents), its fault controls, seeding and CLI parsing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type LocalRegistry, loadSeed, startLocalRegistry } from '../../tools/local-registry';
import { armFaults, parseCli, withStartState } from '../../tools/local-registry/cli';
import { FIXTURES, FIXTURES_DIR, fixtureServer, STATIC_TOKEN, startFixtureRegistry } from './helpers';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startFixtureRegistry({ clients: { 'mcp-gateway-m2m': 'm2m-secret' } });
});
afterAll(() => registry.stop());
beforeEach(() => registry.reset());

const AUTH = { authorization: `Bearer ${STATIC_TOKEN}` };

async function call(
  method: string,
  path: string,
  options: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { ...AUTH, ...options.headers };
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`${registry.url}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const REQUIRED = {
  name: 'Current Time API',
  description: 'A simple API that returns the current server time in various formats.',
  path: '/currenttime/',
  proxy_pass_url: 'http://10.0.3.17:8000/',
};

describe('register with overwrite', () => {
  test('omitted fields fall back to the route defaults; DocumentDB keeps fields the route only sets when sent', async () => {
    const before = registry.getServer('/currenttime/');
    const answer = await call('POST', '/api/servers/register', { form: REQUIRED });

    expect(answer).toEqual({
      status: 201,
      body: {
        path: '/currenttime/',
        name: REQUIRED.name,
        message: `Service '${REQUIRED.name}' registered successfully at path '/currenttime/'`,
      },
    });
    expect(registry.getServer('/currenttime/')).toEqual({
      ...before,
      server_name: REQUIRED.name,
      proxy_pass_url: 'http://10.0.3.17:8000/',
      tool_list: [],
      auth_scheme: 'none',
      supported_transports: ['streamable-http'],
      tags: [],
      num_tools: 0,
      license: 'N/A',
      updated_at: expect.any(String),
      // metadata was not sent: $set leaves it as it was.
      metadata: fixtureServer('/currenttime/').metadata,
    });
  });

  test('file storage replaces the record: unsent metadata is gone', async () => {
    registry.settings.storage = 'file';
    await call('POST', '/api/servers/register', { form: REQUIRED });
    expect(registry.getServer('/currenttime/')).not.toHaveProperty('metadata');
    expect(registry.getServer('/currenttime/')).not.toHaveProperty('updated_at');
  });

  test('keeps the enabled flag', async () => {
    registry.setEnabled('/currenttime/', true);
    await call('POST', '/api/servers/register', { form: REQUIRED });
    expect(registry.isEnabled('/currenttime/')).toBe(true);
  });

  test('422 lists every missing field; an empty field counts as missing', async () => {
    const answer = await call('POST', '/api/servers/register', { form: { name: 'x', description: '' } });
    expect(answer.status).toBe(422);
    expect((answer.body as { detail: { loc: string[] }[] }).detail.map((d) => d.loc.join('.'))).toEqual([
      'body.description',
      'body.path',
      'body.proxy_pass_url',
    ]);
  });

  test('400 on an auth_scheme outside none/bearer/api_key', async () => {
    const answer = await call('POST', '/api/servers/register', {
      form: { ...REQUIRED, auth_scheme: 'oauth2' },
    });
    expect(answer).toEqual({
      status: 400,
      body: {
        error: 'Invalid auth_scheme',
        reason: "auth_scheme must be one of: ['none', 'bearer', 'api_key']",
      },
    });
  });

  test('400 on metadata that is not JSON, and nothing is written', async () => {
    const before = registry.getServer('/currenttime/');
    const answer = await call('POST', '/api/servers/register', { form: { ...REQUIRED, metadata: '{team:' } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'Invalid metadata' });
    expect(registry.getServer('/currenttime/')).toEqual(before);
  });

  test('500 when the path differs from the stored one only in the trailing slash', async () => {
    const before = registry.getServer('/currenttime/');
    const answer = await call('POST', '/api/servers/register', {
      form: { ...REQUIRED, path: '/currenttime' },
    });
    expect(answer.status).toBe(500);
    expect(registry.getServer('/currenttime/')).toEqual(before);
    expect(registry.getServer('/currenttime')).toBeUndefined();
  });

  test('409 with overwrite=false; a new path creates a disabled server at version v1.0.0', async () => {
    const conflict = await call('POST', '/api/servers/register', {
      form: { ...REQUIRED, overwrite: 'false' },
    });
    expect(conflict.status).toBe(409);

    const created = await call('POST', '/api/servers/register', {
      form: { ...REQUIRED, path: '/brand-new/' },
    });
    expect(created.status).toBe(201);
    expect(registry.getServer('/brand-new/')).toMatchObject({ version: 'v1.0.0', is_active: true });
    expect(registry.isEnabled('/brand-new/')).toBe(false);
  });

  test('422 on num_tools or overwrite that do not parse', async () => {
    const answer = await call('POST', '/api/servers/register', {
      form: { ...REQUIRED, num_tools: 'many', overwrite: 'maybe' },
    });
    expect(answer.status).toBe(422);
  });
});

describe('toggle', () => {
  test('switches a server on; 404 for an unknown path; 500 for the other trailing-slash spelling', async () => {
    expect(
      (await call('POST', '/api/servers/toggle', { form: { path: '/currenttime/', new_state: 'true' } }))
        .status,
    ).toBe(200);
    expect(registry.isEnabled('/currenttime/')).toBe(true);
    expect(
      (await call('POST', '/api/servers/toggle', { form: { path: '/nope/', new_state: 'true' } })).status,
    ).toBe(404);
    expect(
      (await call('POST', '/api/servers/toggle', { form: { path: '/currenttime', new_state: 'false' } }))
        .status,
    ).toBe(500);
    expect(registry.isEnabled('/currenttime/')).toBe(true);
  });
});

describe('reads', () => {
  test('the paged list: total_count, has_next, limit capped at 500', async () => {
    const page = await call('GET', '/api/servers?limit=2&offset=1');
    expect(page.body).toMatchObject({ total_count: 3, limit: 2, offset: 1, has_next: false });
    expect((page.body as { servers: unknown[] }).servers).toHaveLength(2);
    expect((await call('GET', '/api/servers?limit=501')).status).toBe(422);
  });

  test("v1.0.16's list item has exactly v1.0.16's fields", async () => {
    registry.settings.listShape = 'v1.0.16';
    const answer = await call('GET', '/api/servers');
    const body = answer.body as { servers: Record<string, unknown>[] };
    expect(Object.keys(body)).toEqual(['servers']);
    expect(Object.keys(body.servers[0] ?? {}).sort()).toEqual(
      [
        'display_name',
        'path',
        'description',
        'proxy_pass_url',
        'is_enabled',
        'tags',
        'num_tools',
        'license',
        'health_status',
        'last_checked_iso',
        'mcp_endpoint',
        'metadata',
        'version',
        'versions',
        'default_version',
        'mcp_server_version',
        'mcp_server_version_previous',
        'mcp_server_version_updated_at',
        'sync_metadata',
        'auth_scheme',
        'auth_header_name',
        'tool_list',
      ].sort(),
    );
    // Sorted by name, as the registry does.
    expect(body.servers.map((s) => s.display_name)).toEqual([
      'AI Registry tools',
      'Current Time API',
      'Real Server Fake Tools',
    ]);
  });

  test("the single-record route, and FastAPI's 404 when it is switched off", async () => {
    const one = await call('GET', '/api/servers/currenttime/');
    expect(one.body).toMatchObject({
      path: '/currenttime/',
      display_name: 'Current Time API',
      is_enabled: false,
    });
    registry.settings.singleRoute = false;
    expect(await call('GET', '/api/servers/currenttime/')).toEqual({
      status: 404,
      body: { detail: 'Not Found' },
    });
  });

  test('credentials are stored but never shown', async () => {
    await call('POST', '/api/servers/register', {
      form: { ...REQUIRED, auth_scheme: 'bearer', auth_credential: 'backend-credential' },
    });
    expect(registry.getServer('/currenttime/')?.auth_credential_encrypted).toEqual(expect.any(String));
    const one = await call('GET', '/api/servers/currenttime/');
    expect(JSON.stringify(one.body)).not.toContain('auth_credential');
    expect(registry.requests().at(0)?.form?.auth_credential).toBe('[redacted]');
  });
});

describe('auth', () => {
  test('no token, a wrong token, an expired token: 401', async () => {
    const none = await fetch(`${registry.url}/api/servers`);
    const wrong = await fetch(`${registry.url}/api/servers`, { headers: { authorization: 'Bearer nope' } });
    const issued = registry.issueToken();
    const fresh = await fetch(`${registry.url}/api/servers`, {
      headers: { authorization: `Bearer ${issued}` },
    });
    registry.expireTokens();
    const expired = await fetch(`${registry.url}/api/servers`, {
      headers: { authorization: `Bearer ${issued}` },
    });

    expect([none.status, wrong.status, fresh.status, expired.status]).toEqual([401, 401, 200, 401]);
    expect(registry.requests().map((r) => r.auth)).toEqual(['none', 'invalid', 'keycloak', 'expired']);
  });

  test('the token endpoint: client credentials in the form or HTTP Basic; wrong secret and grant refused', async () => {
    const endpoint = '/realms/mcp-gateway/protocol/openid-connect/token';
    const ok = await call('POST', endpoint, {
      form: { grant_type: 'client_credentials', client_id: 'mcp-gateway-m2m', client_secret: 'm2m-secret' },
    });
    const basic = await call('POST', endpoint, {
      form: { grant_type: 'client_credentials' },
      headers: { authorization: `Basic ${Buffer.from('mcp-gateway-m2m:m2m-secret').toString('base64')}` },
    });
    const wrong = await call('POST', endpoint, {
      form: { grant_type: 'client_credentials', client_id: 'mcp-gateway-m2m', client_secret: 'nope' },
    });
    const grant = await call('POST', endpoint, { form: { grant_type: 'password' } });

    expect(ok).toMatchObject({ status: 200, body: { token_type: 'Bearer', expires_in: 300 } });
    expect(basic.status).toBe(200);
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(grant).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(registry.tokenUrl).toBe(`${registry.url}${endpoint}`);
  });
});

describe('agents', () => {
  const PATH = '/api/agents/flight-booking-agent';

  test('GET returns the snake_case card with every field; PUT replaces it from the request fields', async () => {
    const card = (await call('GET', PATH)).body as Record<string, unknown>;
    expect(card).toMatchObject({
      protocol_version: '0.3.0',
      default_input_modes: ['text/plain', 'application/json'],
      preferred_transport: 'JSONRPC',
      trust_level: 'unverified',
    });

    const put = await call('PUT', PATH, {
      json: { name: 'Renamed', description: 'd', url: 'http://10.0.0.5:9000', version: '2' },
    });

    expect(put.status).toBe(200);
    expect(registry.getAgent('/flight-booking-agent')).toMatchObject({
      name: 'Renamed',
      url: 'http://10.0.0.5:9000',
      capabilities: {},
      skills: [],
      tags: [],
      license: 'N/A',
      visibility: 'private',
      default_input_modes: ['text/plain'],
      protocol_version: '1.0',
      provider: null,
      updated_at: expect.any(String),
    });
  });

  test('PUT: 404 for an unknown agent, 422 without name or url', async () => {
    expect(
      (await call('PUT', '/api/agents/nobody', { json: { name: 'n', url: 'http://x:1', version: '1' } }))
        .status,
    ).toBe(404);
    expect((await call('PUT', PATH, { json: { description: 'no name' } })).status).toBe(422);
  });
});

describe('faults', () => {
  test('match by method and path, are consumed in order, and report what is left', async () => {
    registry.faults.failNext(1, { status: 502, match: { method: 'POST' } });
    registry.faults.failNext(2, { status: 500, match: { path: /^\/api\/servers$/ } });
    expect(registry.faults.pending()).toMatchObject({ requests: 3, scans: 0, lostWrites: 0 });

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call('GET', '/api/servers')).status);
    statuses.push((await call('POST', '/api/servers/toggle', { form: {} })).status);

    expect(statuses).toEqual([500, 500, 200, 502]);
    expect(registry.faults.pending()).toEqual({
      requests: 0,
      scans: 0,
      lostWrites: 0,
      registerErrors: 0,
      edits: 0,
    });
  });

  test('reset clears faults, the log, the settings and the data', async () => {
    registry.faults.failNext(1);
    registry.settings.listShape = 'v1.0.16';
    registry.putServer({ server_name: 'Extra', path: '/extra/' });
    registry.reset();
    expect(registry.faults.pending().requests).toBe(0);
    expect(registry.settings.listShape).toBe('paged');
    expect(registry.getServer('/extra/')).toBeUndefined();
    expect(registry.requests()).toEqual([]);
  });
});

describe('seeding', () => {
  test('the shared fixtures load as 3 servers, 1 agent and the state map, all servers off', () => {
    expect(FIXTURES.servers).toHaveLength(3);
    expect(FIXTURES.agents).toHaveLength(1);
    expect(FIXTURES.state).toMatchObject({ '/currenttime/': false, '/realserverfaketools/': false });
    expect(registry.serverPaths().map((p) => registry.isEnabled(p))).toEqual([false, false, false]);
  });

  test('state flags apply with or without the trailing slash, like the registry loader', async () => {
    const local = await startLocalRegistry({
      seed: { servers: [{ server_name: 'A', path: '/a/' }], state: { '/a': true } },
    });
    try {
      expect(local.isEnabled('/a/')).toBe(true);
    } finally {
      await local.stop();
    }
  });

  test('a file that is not JSON, or not a registry record, is named in the error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed-'));
    const odd = join(dir, 'odd.json');
    writeFileSync(odd, '{"foo": 1}');
    try {
      expect(() => loadSeed([`${FIXTURES_DIR}/server-currenttime.json`, __filename])).toThrow(
        `seed file ${__filename} is not valid JSON`,
      );
      expect(() => loadSeed([dir])).toThrow(`seed file ${odd}: neither a server`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('CLI', () => {
  test('defaults', () => {
    expect(parseCli([])).toEqual({
      help: false,
      port: 0,
      seeds: [],
      token: undefined,
      clients: {},
      tokenTtlSeconds: 300,
      listShape: 'paged',
      singleRoute: true,
      storage: 'documentdb',
      generation: '1.32',
      allowedCidrs: [],
      allowedHosts: [],
      enable: [],
      disable: [],
      scan: {},
      faults: [],
    });
    expect(parseCli(['--generation', 'mainline']).generation).toBeUndefined();
  });

  test('--generation 1.0.16 picks its list, route and storage; 1.29 takes allow-lists', () => {
    expect(parseCli(['--generation', '1.0.16'])).toMatchObject({
      generation: '1.0.16',
      listShape: 'v1.0.16',
      singleRoute: false,
      storage: 'file',
    });
    expect(
      parseCli(['--generation', '1.29', '--allow-cidr', '10.0.0.0/16', '--allow-host', 'mcpgw-server']),
    ).toMatchObject({
      generation: '1.29',
      listShape: 'paged',
      singleRoute: true,
      allowedCidrs: ['10.0.0.0/16'],
      allowedHosts: ['mcpgw-server'],
    });
  });

  test('every option', () => {
    expect(
      parseCli([
        '--port',
        '8080',
        '--seed',
        'a',
        '--seed',
        'b',
        '--token',
        't',
        '--client',
        'id:se:cret',
        '--token-ttl',
        '60',
        '--list-shape',
        'v1.0.16',
        '--no-single-route',
        '--storage',
        'file',
        '--generation',
        'mainline',
      ]),
    ).toEqual({
      help: false,
      port: 8080,
      seeds: ['a', 'b'],
      token: 't',
      clients: { id: 'se:cret' },
      tokenTtlSeconds: 60,
      listShape: 'v1.0.16',
      singleRoute: false,
      storage: 'file',
      generation: undefined,
      allowedCidrs: [],
      allowedHosts: [],
      enable: [],
      disable: [],
      scan: {},
      faults: [],
    });
  });

  test.each([
    [['--port', 'x'], /--port must be an integer/],
    [['--list-shape', 'v2'], /--list-shape must be one of paged, v1.0.16/],
    [['--client', 'nocolon'], /--client must be <id>:<secret>/],
    [['--generation', '2.0'], /--generation must be one of 1.0.16, 1.29, 1.32, mainline/],
    [['--fail', 'abc'], /--fail status must be an integer/],
    [['--fail', '503x0'], /--fail count must be an integer from 1/],
    [['--delay', '100@api/servers'], /the match after @ must be a path/],
    [['--scan-delay', '100'], /--scan-delay needs --scan-unsafe or --scan-error/],
    [['--generation', '1.29', '--allow-unsafe-servers'], /1.32 settings/],
    [['--allow-cidr', '10.0.0.0/33'], /not an IPv4 CIDR/],
    [['--bogus'], /Unknown option/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(message);
  });

  test('fault switches: VALUE[xCOUNT][@[METHOD:]PATH], * for every request, scan verdicts and settings', () => {
    const cli = parseCli([
      '--fail',
      '503x2@POST:/api/servers/register',
      '--html-error',
      '502',
      '--delay',
      '1500x*@/api/servers',
      '--drop',
      '1',
      '--truncate',
      '2@GET:/api/servers',
      '--huge',
      '2000000',
      '--unauthorized',
      '1',
      '--register-500',
      '2',
      '--lose-writes',
      '1',
      '--scan-unsafe',
      '*',
      '--scan-delay',
      '5000',
      '--scan-tools',
      'a, b',
      '--allow-unsafe-servers',
      '--no-block-on-scan-failure',
      '--no-stale-write-back',
    ]);
    expect(cli.scan).toEqual({ allowUnsafeServers: true, blockOnScanFailure: false, staleWriteBack: false });
    expect(cli.faults).toEqual([
      {
        kind: 'fail',
        status: 503,
        count: 2,
        html: false,
        match: { path: '/api/servers/register', method: 'POST' },
      },
      { kind: 'fail', status: 502, count: 1, html: true },
      { kind: 'delay', ms: 1500, count: Number.POSITIVE_INFINITY, match: { path: '/api/servers' } },
      { kind: 'huge', bytes: 2_000_000, count: 1 },
      { kind: 'drop', count: 1 },
      { kind: 'truncate', count: 2, match: { path: '/api/servers', method: 'GET' } },
      { kind: 'unauthorized', count: 1 },
      { kind: 'register-500', count: 2 },
      { kind: 'lose-writes', count: 1 },
      {
        kind: 'scan',
        verdict: 'unsafe',
        count: Number.POSITIVE_INFINITY,
        delayMs: 5000,
        tag: true,
        tools: ['a', 'b'],
      },
    ]);
  });

  test('armed switches shape the answers: JSON and HTML errors, truncation, register’s bare 500, the scan', async () => {
    const cli = parseCli([
      '--fail',
      '503@GET:/api/servers',
      '--html-error',
      '502@GET:/api/servers',
      '--truncate',
      '1@GET:/api/servers',
      '--register-500',
      '1',
      '--scan-unsafe',
      '1',
      '--allow-cidr',
      '10.0.0.0/16',
    ]);
    const live = await startLocalRegistry({
      staticToken: STATIC_TOKEN,
      generation: cli.generation,
      allowedCidrs: cli.allowedCidrs,
      seed: withStartState(FIXTURES, [], []),
    });
    try {
      armFaults(live.faults, cli.faults);
      const get = () => fetch(`${live.url}/api/servers`, { headers: AUTH });
      const first = await get();
      expect(first.status).toBe(503);
      expect(await first.json()).toEqual({ detail: 'injected HTTP 503' });
      const second = await get();
      expect(second.status).toBe(502);
      expect(second.headers.get('content-type')).toBe('text/html');
      expect(await second.text()).toContain('<h1>502 Bad Gateway</h1>');
      await expect(get().then((r) => r.text())).rejects.toThrow();
      expect((await get()).status).toBe(200);

      const form = new URLSearchParams({
        name: 'Current Time API',
        description: 'x',
        path: '/currenttime/',
        proxy_pass_url: 'http://10.0.1.9:8000/',
      });
      const register = () =>
        fetch(`${live.url}/api/servers/register`, {
          method: 'POST',
          headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
      const refused = await register();
      expect(refused.status).toBe(500);
      expect(await refused.json()).toEqual({ detail: 'Service registration failed' });
      expect(live.getServer('/currenttime/')?.proxy_pass_url).toBe('http://currenttime-server:8000/');
      expect((await register()).status).toBe(201);
      expect(live.isEnabled('/currenttime/')).toBe(false);
      expect(live.getServer('/currenttime/')?.tags).toContain('security-pending');
    } finally {
      await live.stop();
    }
  });

  test('seeded servers start enabled unless the state map or the record says not; --enable and --disable override', () => {
    const seed = {
      servers: [
        { server_name: 'A', path: '/a/' },
        { server_name: 'B', path: '/b', is_enabled: false },
        { server_name: 'C', path: '/c/' },
      ],
      state: { '/c': false },
    };
    expect(withStartState(seed, [], []).state).toEqual({ '/a/': true, '/b': false, '/c/': false });
    expect(withStartState(seed, ['/c/'], ['/a/']).state).toEqual({ '/a/': false, '/b': false, '/c/': true });
    expect(() => withStartState(seed, ['/nope'], [])).toThrow('no seeded server at /nope');
    // The shared fixtures: the workshop's server_state.json keeps its two servers off; the built-in entry is on.
    expect(withStartState(FIXTURES, [], []).state).toMatchObject({
      '/airegistry-tools/': true,
      '/currenttime/': false,
      '/realserverfaketools/': false,
    });
  });

  test('the command line starts a registry with its switches armed and says so', async () => {
    const cliPath = resolve(__dirname, '..', '..', 'tools', 'local-registry', 'cli.ts');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cliPath,
        '--seed',
        FIXTURES_DIR,
        '--token',
        STATIC_TOKEN,
        '--enable',
        '/currenttime/',
        '--fail',
        '503@GET:/api/servers',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const banner = await new Promise<string>((done, fail) => {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('press Ctrl+C')) done(text);
        });
        child.once('exit', (code) => fail(new Error(`exited ${code}: ${text}`)));
      });
      expect(banner).toContain('generation: 1.32');
      expect(banner).toContain('faults armed: next 1 503 on GET /api/servers');
      expect(banner).toContain('disabled: /realserverfaketools/');
      const url = /listening on (\S+)/.exec(banner)?.[1];
      const get = () => fetch(`${url}/api/servers/currenttime/`, { headers: AUTH });
      expect((await get()).status).toBe(503);
      const read = await get();
      expect(await read.json()).toMatchObject({ path: '/currenttime/', is_enabled: true });
    } finally {
      child.kill('SIGTERM');
    }
  }, 180_000);
});
