/**
 * End to end over real HTTP: a server whose address is the Cloud Map short name and whose
 * `mcp_endpoint` is the long `<name>.<namespace>` form. With the target's host forms the endpoint
 * follows the new task IP on every route that writes it: PATCH (1.29, a path without trailing
 * slash), register-overwrite (1.29 `/currenttime/`, and v1.0.16).
 */
import type { HostForms } from '../../functions/lib/core/url';
import type { EntryRef } from '../../functions/lib/reconcile/ports';
import type { Generation, LocalRegistry } from '../../tools/local-registry';
import { clientFor, countingContext, fixtureServer, startFixtureRegistry } from './helpers';

const OLD_URL = 'http://currenttime-server:8000/';
const LONG_ENDPOINT = 'http://currenttime-server.mcp-gateway.local:8000/mcp';
const NEW_URL = 'http://10.0.1.9:8000/';
const NEW_ENDPOINT = 'http://10.0.1.9:8000/mcp';
const FORMS: HostForms = {
  entryHost: 'currenttime-server',
  cloudMapService: 'currenttime-server',
  namespace: 'mcp-gateway.local',
};

function server(path: string): Record<string, unknown> {
  return { ...fixtureServer('/currenttime/'), path, proxy_pass_url: OLD_URL, mcp_endpoint: LONG_ENDPOINT };
}

const CASES: { generation: Generation; path: string; route: 'patch' | 'register' }[] = [
  { generation: '1.29', path: '/currenttime', route: 'patch' },
  { generation: '1.29', path: '/currenttime/', route: 'register' },
  { generation: '1.0.16', path: '/currenttime/', route: 'register' },
  { generation: '1.32', path: '/currenttime', route: 'patch' },
];

describe.each(CASES)('registry $generation, $path', ({ generation, path, route }) => {
  let registry: LocalRegistry;
  const ref: EntryRef = { kind: 'server', path };
  beforeEach(async () => {
    registry = await startFixtureRegistry({ generation, allowedCidrs: ['10.0.0.0/16'] });
    registry.putServer(server(path), { enabled: true });
  });
  afterEach(() => registry.stop());

  test(`the ${route} write moves mcp_endpoint on the long host form to the new IP`, async () => {
    // Arrange
    const client = clientFor(registry);
    const entry = await client.readEntry(ref, countingContext());
    expect(entry.record.mcp_endpoint).toBe(LONG_ENDPOINT);

    // Act
    const result = await client.writeUrl(entry, NEW_URL, countingContext(), { hostForms: FORMS });

    // Assert
    expect(result).toMatchObject({ route, confirmed: true, url: NEW_URL });
    const stored = registry.getServer(path) ?? {};
    expect(stored.proxy_pass_url).toBe(NEW_URL);
    expect(stored.mcp_endpoint).toBe(NEW_ENDPOINT);
  });

  test(`without the host forms the ${route} write leaves the long form as it is`, async () => {
    // Arrange: the endpoint's host is not the address's host, so only the forms make it follow.
    const client = clientFor(registry);
    const entry = await client.readEntry(ref, countingContext());

    // Act
    await client.writeUrl(entry, NEW_URL, countingContext());

    // Assert
    expect(registry.getServer(path)?.mcp_endpoint).toBe(LONG_ENDPOINT);
  });
});
