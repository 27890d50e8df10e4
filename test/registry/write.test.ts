/**
 * Rewriting addresses: what is sent, what is counted, the read-back, the security scan switching
 * a server off, and the opt-in re-enable.
 */
import { EntryNotFoundError, PermanentError } from '../../functions/lib/errors';
import { FIELDS_HIDDEN_BY_V1_LIST } from '../../functions/lib/registry/rewrite';
import type { LocalRegistry } from '../../tools/local-registry';
import { clientFor, countingContext, requestLines, startFixtureRegistry, thrownBy } from './helpers';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startFixtureRegistry();
});
afterAll(() => registry.stop());
beforeEach(() => registry.reset());

const CURRENTTIME = { kind: 'server', path: '/currenttime/' } as const;

describe('servers', () => {
  test('one register, one read-back, counted by API', async () => {
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    registry.clearRequests();
    const ctx = countingContext();

    const result = await client.writeUrl(entry, 'http://10.0.3.17:8000/', ctx);

    expect(result.confirmed).toBe(true);
    expect(requestLines(registry)).toEqual(['POST /api/servers/register', 'GET /api/servers/currenttime/']);
    expect(ctx.counts).toEqual({ 'registry.write': 1, 'registry.readBack': 1 });
  });

  test('writing the address the entry already has sends nothing', async () => {
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    registry.clearRequests();

    const result = await client.writeUrl(entry, entry.url, countingContext());

    expect(result).toEqual({
      url: entry.url,
      confirmed: true,
      disabledAfterWrite: false,
      reenabled: false,
      route: 'none',
      resets: [],
    });
    expect(registry.requests()).toEqual([]);
  });

  test('endpoints on the same host follow the address (and its port); others are left alone', async () => {
    registry.putServer({
      server_name: 'Endpoints',
      description: 'custom endpoints',
      path: '/endpoints/',
      proxy_pass_url: 'http://endpoints-server:8000/',
      mcp_endpoint: 'http://Endpoints-Server:8000/custom/mcp',
      sse_endpoint: 'http://elsewhere:8000/sse',
      auth_scheme: 'bearer',
      auth_header_name: 'X-Api-Key',
      supported_transports: ['streamable-http', 'sse'],
    });
    const client = clientFor(registry);
    const entry = await client.readEntry({ kind: 'server', path: '/endpoints/' }, countingContext());

    await client.writeUrl(entry, 'http://10.0.3.17:9000/', countingContext());

    expect(registry.getServer('/endpoints/')).toMatchObject({
      proxy_pass_url: 'http://10.0.3.17:9000/',
      mcp_endpoint: 'http://10.0.3.17:9000/custom/mcp',
      sse_endpoint: 'http://elsewhere:8000/sse',
      auth_scheme: 'bearer',
      auth_header_name: 'X-Api-Key',
      supported_transports: ['streamable-http', 'sse'],
    });
  });

  test('a read-back that shows another address is reported, not confirmed', async () => {
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    registry.faults.loseWrites(1);

    const result = await client.writeUrl(entry, 'http://10.0.3.17:8000/', countingContext());

    expect(result).toMatchObject({
      url: 'http://currenttime-server:8000/',
      confirmed: false,
      disabledAfterWrite: false,
      reenabled: false,
    });
    expect(client.logs.lines.some((l) => l.level === 'warn' && l.message.includes('another address'))).toBe(
      true,
    );
  });

  test.each([
    ['a tag with a comma', { tags: ['a,b'] }, 'field tags contains "a,b"'],
    ['a tag with blanks around it', { tags: [' padded'] }, 'field tags contains " padded"'],
    ['an empty description', { description: '' }, 'field description is empty'],
  ])(
    'refuses to send %s, which the registry would alter, before any request',
    async (_name, change, message) => {
      registry.putServer({
        server_name: 'Odd',
        description: 'odd',
        path: '/odd/',
        proxy_pass_url: 'http://odd:1/',
        ...change,
      });
      const client = clientFor(registry);
      const entry = await client.readEntry({ kind: 'server', path: '/odd/' }, countingContext());
      registry.clearRequests();

      const error = await thrownBy(() => client.writeUrl(entry, 'http://10.0.0.1:1/', countingContext()));

      expect(error).toBeInstanceOf(PermanentError);
      expect(error.message).toContain(`cannot rewrite server /odd/: ${message}`);
      expect(registry.requests()).toEqual([]);
    },
  );

  test('refuses an address that is not an http(s) URL', async () => {
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const error = await thrownBy(() => client.writeUrl(entry, 'ftp://10.0.0.1/', countingContext()));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('"ftp://10.0.0.1/" is not an http(s) URL');
  });

  test('on a registry whose list hides fields (v1.0.16), the write names each field it may have reset, and warns', async () => {
    registry.settings.singleRoute = false;
    registry.settings.listShape = 'v1.0.16';
    const client = clientFor(registry);
    const entry = await client.readEntry(
      { kind: 'server', path: '/realserverfaketools/' },
      countingContext(),
    );
    expect(client.fieldsMayReset(entry)).toEqual(FIELDS_HIDDEN_BY_V1_LIST);
    const result = await client.writeUrl(entry, 'http://10.0.3.17:8002/', countingContext());
    expect(result.mayReset).toEqual(FIELDS_HIDDEN_BY_V1_LIST);
    const warning = client.logs.lines.find((l) => l.message.includes('may reset these fields'));
    expect(warning?.extra[0]).toEqual({ path: '/realserverfaketools/', fields: FIELDS_HIDDEN_BY_V1_LIST });
  });
});

describe('security scan switching the server off after the write', () => {
  test('is reported, and the server is left off without the opt-in', async () => {
    registry.setEnabled('/currenttime/', true);
    registry.faults.disableAfterWrite(1);
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const ctx = countingContext();

    const result = await client.writeUrl(entry, 'http://10.0.3.17:8000/', ctx);

    expect(result).toMatchObject({
      url: 'http://10.0.3.17:8000/',
      confirmed: true,
      disabledAfterWrite: true,
      reenabled: false,
      // The scan's security-pending tag is the scan's doing, reported as such, not a reset by the
      // write; register did add its default transports to a record that had none.
      resets: ['supported_transports'],
    });
    expect(registry.isEnabled('/currenttime/')).toBe(false);
    expect(registry.getServer('/currenttime/')?.tags).toEqual(['time', 'utility', 'api', 'security-pending']);
    expect(ctx.counts['registry.toggle']).toBeUndefined();
    expect(requestLines(registry)).not.toContain('POST /api/servers/toggle');
    const warning = client.logs.lines.find((l) => l.message.includes('disabled the server after the write'));
    expect(warning?.level).toBe('warn');
    expect(warning?.extra[0]).toEqual({ path: '/currenttime/', reenableAfterWrite: false });
  });

  test('with reenableAfterWrite, the server is switched back on through the toggle route', async () => {
    registry.setEnabled('/currenttime/', true);
    registry.faults.disableAfterWrite(1);
    const client = clientFor(registry, { reenableAfterWrite: true });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    const ctx = countingContext();

    const result = await client.writeUrl(entry, 'http://10.0.3.17:8000/', ctx);

    expect(result).toMatchObject({
      url: 'http://10.0.3.17:8000/',
      confirmed: true,
      disabledAfterWrite: true,
      reenabled: true,
    });
    expect(registry.isEnabled('/currenttime/')).toBe(true);
    const toggle = registry.requests().find((r) => r.path === '/api/servers/toggle');
    expect(toggle?.form).toEqual({ path: '/currenttime/', new_state: 'true' });
    expect(ctx.counts).toEqual({ 'registry.write': 1, 'registry.readBack': 1, 'registry.toggle': 1 });
  });

  test('a server that was already off is not "disabled after write", and is never switched on', async () => {
    registry.faults.disableAfterWrite(1);
    const client = clientFor(registry, { reenableAfterWrite: true });
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    expect(entry.enabled).toBe(false);

    const result = await client.writeUrl(entry, 'http://10.0.3.17:8000/', countingContext());

    expect(result.disabledAfterWrite).toBe(false);
    expect(result.reenabled).toBe(false);
    expect(registry.isEnabled('/currenttime/')).toBe(false);
  });
});

describe('agents', () => {
  const AGENT = { kind: 'agent', path: '/flight-booking-agent' } as const;

  test('PUTs the card as read with only url changed (plus the streaming flag v1.0.16 reads)', async () => {
    const client = clientFor(registry);
    const entry = await client.readEntry(AGENT, countingContext());
    registry.clearRequests();
    const ctx = countingContext();

    const result = await client.writeUrl(entry, 'http://10.0.4.2:9000', ctx);

    const put = registry.requests().find((r) => r.method === 'PUT');
    expect(put?.path).toBe('/api/agents/flight-booking-agent');
    expect(put?.json).toEqual({ ...entry.record, url: 'http://10.0.4.2:9000', streaming: true });
    expect(result).toMatchObject({
      url: 'http://10.0.4.2:9000',
      confirmed: true,
      disabledAfterWrite: false,
      reenabled: false,
    });
    expect(ctx.counts).toEqual({ 'registry.write': 1, 'registry.readBack': 1 });
  });

  test('an agent removed between read and write is EntryNotFoundError', async () => {
    registry.putAgent({
      name: 'Gone',
      description: 'soon gone',
      url: 'http://gone:9000',
      version: '1',
      path: '/gone',
    });
    const client = clientFor(registry);
    const entry = await client.readEntry({ kind: 'agent', path: '/gone' }, countingContext());
    registry.reset();

    const error = await thrownBy(() => client.writeUrl(entry, 'http://10.0.0.9:9000', countingContext()));

    expect(error).toBeInstanceOf(EntryNotFoundError);
    expect(requestLines(registry)).toEqual(['PUT /api/agents/gone']);
  });
});
