/**
 * Reading entries: the single-record route, the paged list and v1.0.16's unpaged list, exact path
 * matching, and missing entries, all over HTTP against the local registry.
 */
import { EntryNotFoundError } from '../../functions/lib/errors';
import type { LocalRegistry } from '../../tools/local-registry';
import {
  clientFor,
  countingContext,
  fixtureServer,
  requestLines,
  startFixtureRegistry,
  thrownBy,
} from './helpers';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startFixtureRegistry();
});
afterAll(() => registry.stop());
beforeEach(() => registry.reset());

/** Adds `count` servers named so that they sort before the fixtures, plus one that sorts last. */
function addServers(count: number): string {
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(4, '0');
    registry.putServer({
      server_name: `Bulk ${n}`,
      path: `/bulk-${n}/`,
      proxy_pass_url: `http://bulk-${n}:8000/`,
    });
  }
  registry.putServer({
    server_name: 'ZZZ last',
    path: '/zzz-last/',
    proxy_pass_url: 'http://zzz-last:8000/',
  });
  return '/zzz-last/';
}

describe('single-record route (mainline)', () => {
  test('reads a server with one GET and maps it to a RegistryEntry', async () => {
    registry.setEnabled('/currenttime/', true);
    const ctx = countingContext();
    const entry = await clientFor(registry).readEntry({ kind: 'server', path: '/currenttime/' }, ctx);

    expect(entry).toMatchObject({
      kind: 'server',
      path: '/currenttime/',
      url: 'http://currenttime-server:8000/',
      enabled: true,
    });
    expect(entry.record.metadata).toEqual(fixtureServer('/currenttime/').metadata);
    expect(requestLines(registry)).toEqual(['GET /api/servers/currenttime/']);
    expect(ctx.counts).toEqual({ 'registry.read': 1 });
  });

  test('a 404 from the route falls back to the list, and a missing entry is EntryNotFoundError after one scan', async () => {
    const ctx = countingContext();
    const error = await thrownBy(() =>
      clientFor(registry).readEntry({ kind: 'server', path: '/nope/' }, ctx),
    );

    expect(error).toBeInstanceOf(EntryNotFoundError);
    expect(error.message).toBe('registry has no server at path /nope/');
    expect(requestLines(registry)).toEqual(['GET /api/servers/nope/', 'GET /api/servers']);
    expect(ctx.counts).toEqual({ 'registry.read': 2 });
  });

  test('a path that differs in the trailing slash is not the entry (writing it would fail with a 500)', async () => {
    const client = clientFor(registry);
    const error = await thrownBy(() =>
      client.readEntry({ kind: 'server', path: '/currenttime' }, countingContext()),
    );

    expect(error).toBeInstanceOf(EntryNotFoundError);
    const warning = client.logs.lines.find((l) => l.level === 'warn');
    expect(warning?.extra[0]).toMatchObject({ path: '/currenttime', registryPath: '/currenttime/' });
  });
});

describe('list fallback (no single-record route, as in v1.0.16)', () => {
  beforeEach(() => {
    registry.settings.singleRoute = false;
  });

  test('falls back to the list once, then reads from the list only', async () => {
    const client = clientFor(registry);
    const first = countingContext();
    const entry = await client.readEntry({ kind: 'server', path: '/realserverfaketools/' }, first);
    const second = countingContext();
    await client.readEntry({ kind: 'server', path: '/currenttime/' }, second);

    expect(entry.url).toBe('http://realserverfaketools-server:8002/');
    expect(entry.record.tool_list).toEqual(fixtureServer('/realserverfaketools/').tool_list);
    expect(requestLines(registry)).toEqual([
      'GET /api/servers/realserverfaketools/',
      'GET /api/servers',
      'GET /api/servers',
    ]);
    expect(first.counts).toEqual({ 'registry.read': 2 });
    expect(second.counts).toEqual({ 'registry.read': 1 });
  });

  test('follows pages to a target on the last of 1,200+ servers, asking 500 at a time', async () => {
    const target = addServers(1_200);
    const client = clientFor(registry);
    await client.readEntry({ kind: 'server', path: '/currenttime/' }, countingContext());
    registry.clearRequests();
    const ctx = countingContext();

    const entry = await client.readEntry({ kind: 'server', path: target }, ctx);

    expect(entry.url).toBe('http://zzz-last:8000/');
    expect(registry.requests().map((r) => r.query)).toEqual([
      { limit: '500', offset: '0' },
      { limit: '500', offset: '500' },
      { limit: '500', offset: '1000' },
    ]);
    expect(ctx.counts).toEqual({ 'registry.read': 3 });
  });

  test('stops at the page that has the target', async () => {
    addServers(1_200);
    const ctx = countingContext();
    // "AI Registry tools" sorts before "Bulk …": page one.
    await clientFor(registry).readEntry({ kind: 'server', path: '/airegistry-tools/' }, ctx);
    expect(ctx.counts).toEqual({ 'registry.read': 2 });
  });

  test('a missing entry reads every page once, then EntryNotFoundError', async () => {
    addServers(1_200);
    const ctx = countingContext();
    const error = await thrownBy(() =>
      clientFor(registry).readEntry({ kind: 'server', path: '/nope/' }, ctx),
    );

    expect(error).toBeInstanceOf(EntryNotFoundError);
    // The single-route probe, then 1,204 servers in pages of 500.
    expect(ctx.counts).toEqual({ 'registry.read': 1 + 3 });
  });

  test('a smaller page size pages accordingly', async () => {
    addServers(10);
    const ctx = countingContext();
    await clientFor(registry, { pageSize: 4 }).readEntry({ kind: 'server', path: '/zzz-last/' }, ctx);
    // Probe, then 14 servers at 4 a page: 4 pages.
    expect(ctx.counts).toEqual({ 'registry.read': 5 });
  });

  test("v1.0.16's unpaged {servers:[…]} answer is read in one request", async () => {
    registry.settings.listShape = 'v1.0.16';
    const target = addServers(1_200);
    const client = clientFor(registry);
    const ctx = countingContext();

    const entry = await client.readEntry({ kind: 'server', path: target }, ctx);
    const error = await thrownBy(() =>
      client.readEntry({ kind: 'server', path: '/nope/' }, countingContext()),
    );

    expect(entry.url).toBe('http://zzz-last:8000/');
    expect(ctx.counts).toEqual({ 'registry.read': 2 });
    expect(error).toBeInstanceOf(EntryNotFoundError);
    expect(requestLines(registry)).toEqual([
      'GET /api/servers/zzz-last/',
      'GET /api/servers',
      'GET /api/servers',
    ]);
  });

  test('matches the exact path, trailing slash included', async () => {
    registry.putServer({ server_name: 'Slashless', path: '/slashless', proxy_pass_url: 'http://a:1' });
    registry.putServer({ server_name: 'Slashed', path: '/slashless/', proxy_pass_url: 'http://b:2/' });
    const client = clientFor(registry);

    const a = await client.readEntry({ kind: 'server', path: '/slashless' }, countingContext());
    const b = await client.readEntry({ kind: 'server', path: '/slashless/' }, countingContext());

    expect([a.url, b.url]).toEqual(['http://a:1', 'http://b:2/']);
  });
});

describe('agents', () => {
  test('reads the card with one GET', async () => {
    const ctx = countingContext();
    const entry = await clientFor(registry).readEntry({ kind: 'agent', path: '/flight-booking-agent' }, ctx);

    expect(entry).toEqual({
      kind: 'agent',
      path: '/flight-booking-agent',
      url: 'http://flight-booking-agent.mcp-gateway-v2.local:9000',
      record: registry.getAgent('/flight-booking-agent'),
    });
    expect(entry.enabled).toBeUndefined();
    expect(ctx.counts).toEqual({ 'registry.read': 1 });
  });

  test('a missing agent is EntryNotFoundError, not retried', async () => {
    const error = await thrownBy(() =>
      clientFor(registry).readEntry({ kind: 'agent', path: '/travel-assistant-agent' }, countingContext()),
    );
    expect(error).toBeInstanceOf(EntryNotFoundError);
    expect(error.message).toBe('registry has no agent at path /travel-assistant-agent');
    expect(requestLines(registry)).toEqual(['GET /api/agents/travel-assistant-agent']);
  });
});
