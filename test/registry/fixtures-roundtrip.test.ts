import { swapHost } from '../../functions/lib/url';
import type { LocalRegistry, LocalRegistrySettings } from '../../tools/local-registry';
import { clientFor, countingContext, FIXTURES, startFixtureRegistry } from './helpers';

const NEW_HOST = '10.0.3.17';

const SHAPES: [string, LocalRegistrySettings][] = [
  [
    'mainline, single-record route, DocumentDB',
    { listShape: 'paged', singleRoute: true, storage: 'documentdb' },
  ],
  ['mainline, paged list only, file storage', { listShape: 'paged', singleRoute: false, storage: 'file' }],
  ['v1.0.16 unpaged list, DocumentDB', { listShape: 'v1.0.16', singleRoute: false, storage: 'documentdb' }],
  ['v1.0.16 unpaged list, file storage', { listShape: 'v1.0.16', singleRoute: false, storage: 'file' }],
];

const SERVER_PATHS = (FIXTURES.servers ?? []).map((s) => s.path as string);

test('the fixtures hold the servers and agent this suite is about', () => {
  expect(SERVER_PATHS.sort()).toEqual(['/airegistry-tools/', '/currenttime/', '/realserverfaketools/']);
  expect((FIXTURES.agents ?? []).map((a) => a.path)).toEqual(['/flight-booking-agent']);
});

describe.each(SHAPES)('server rewrite keeps every field: %s', (_name, settings) => {
  let registry: LocalRegistry;

  beforeAll(async () => {
    registry = await startFixtureRegistry(settings);
  });
  afterAll(() => registry.stop());
  beforeEach(() => registry.reset());

  test.each(SERVER_PATHS)('%s', async (path) => {
    // Enabled, so a change of is_enabled would show.
    registry.setEnabled(path, true);
    const client = clientFor(registry);
    const ctx = countingContext();
    const storedBefore = registry.getServer(path);
    const entry = await client.readEntry({ kind: 'server', path }, ctx);
    const newUrl = swapHost(entry.url, NEW_HOST);

    const result = await client.writeUrl(entry, newUrl, ctx);

    expect(result).toMatchObject({
      url: newUrl,
      confirmed: true,
      disabledAfterWrite: false,
      reenabled: false,
    });
    expect(result.route).toBe(entry.kind === 'server' ? 'register' : 'put');
    const expected: Record<string, unknown> = { ...storedBefore, proxy_pass_url: newUrl };
    // The register route always sets supported_transports; a record without one gets its default.
    expected.supported_transports ??= ['streamable-http'];
    if (settings.storage === 'documentdb') expected.updated_at = expect.any(String);
    expect(registry.getServer(path)).toEqual(expected);
    expect(registry.isEnabled(path)).toBe(true);

    const reread = await client.readEntry({ kind: 'server', path }, countingContext());
    expect(reread.record).toEqual({
      ...entry.record,
      proxy_pass_url: newUrl,
      ...newFieldsOf(settings, entry.record),
    });
    expect(reread.url).toBe(newUrl);
    expect(reread.enabled).toBe(true);
  });

  test('the register form carries each field of the record, and no version', async () => {
    const client = clientFor(registry);
    const entry = await client.readEntry({ kind: 'server', path: '/currenttime/' }, countingContext());
    await client.writeUrl(entry, 'http://10.0.3.17:8000/', countingContext());

    const write = registry.requests().find((r) => r.path === '/api/servers/register');
    const fixture = FIXTURES.servers?.find((s) => s.path === '/currenttime/') ?? {};
    expect(write?.form).toEqual({
      name: fixture.server_name,
      description: fixture.description,
      path: '/currenttime/',
      proxy_pass_url: 'http://10.0.3.17:8000/',
      overwrite: 'true',
      tags: 'time,utility,api',
      num_tools: '1',
      license: 'MIT-0',
      auth_scheme: 'none',
      tool_list_json: JSON.stringify(fixture.tool_list),
      metadata: JSON.stringify(fixture.metadata),
    });
    expect(write?.form).not.toHaveProperty('version');
  });
});

/**
 * Fields a read shows after a rewrite that it did not show before. Only the single-record route
 * shows the whole stored record: DocumentDB's update timestamp, and the default transports.
 */
function newFieldsOf(
  settings: LocalRegistrySettings,
  before: Record<string, unknown>,
): Record<string, unknown> {
  if (!settings.singleRoute) return {};
  return {
    ...(settings.storage === 'documentdb' ? { updated_at: expect.any(String) } : {}),
    ...(before.supported_transports === undefined ? { supported_transports: ['streamable-http'] } : {}),
  };
}

describe('agent rewrite', () => {
  let registry: LocalRegistry;

  beforeAll(async () => {
    registry = await startFixtureRegistry();
  });
  afterAll(() => registry.stop());

  test('keeps every field the registry PUT can carry, and reports the ones v1.0.16 resets', async () => {
    const path = '/flight-booking-agent';
    const client = clientFor(registry);
    const before = registry.getAgent(path) ?? {};
    const entry = await client.readEntry({ kind: 'agent', path }, countingContext());
    expect(entry.record).toEqual(before);
    const newUrl = swapHost(entry.url, NEW_HOST);

    const result = await client.writeUrl(entry, newUrl, countingContext());

    expect(result).toMatchObject({
      url: newUrl,
      confirmed: true,
      disabledAfterWrite: false,
      reenabled: false,
    });
    expect(result.route).toBe(entry.kind === 'server' ? 'register' : 'put');
    expect(registry.getAgent(path)).toEqual({
      ...before,
      url: newUrl,
      updated_at: expect.any(String),
      // v1.0.16's PUT builds the card from AgentRegistrationRequest, which has no such fields:
      // they fall back to AgentCard's defaults. No token API can preserve them.
      default_input_modes: ['text/plain'],
      default_output_modes: ['text/plain'],
    });
    // Survived only because the client repeats capabilities.streaming as the top-level flag.
    expect(registry.getAgent(path)?.capabilities).toEqual({ streaming: true });
    expect(result.resets).toEqual(['default_input_modes', 'default_output_modes']);
    const warning = client.logs.lines.find((l) => l.message.includes('the write reset these fields'));
    expect(warning?.extra[0]).toMatchObject({ fields: ['default_input_modes', 'default_output_modes'] });
  });
});
