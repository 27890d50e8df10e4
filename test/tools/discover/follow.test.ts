/** `discover --follow` on plain data: the follow document it prints, and the verdicts it shows. */
import { parseConfig } from '../../../functions/lib/config/config';
import {
  DEFAULT_OWNERSHIP_TABLE,
  followDocument,
  followParams,
  followVerdicts,
} from '../../../tools/discover/follow';
import { type DiscoverWorld, matchEntries } from '../../../tools/discover/match';

const WORLD: DiscoverWorld = {
  namespace: 'mcp-gateway.local',
  cloudMapServices: [
    { name: 'currenttime-server', arn: 'arn:cm:srv-time', ipv4s: ['10.0.1.11'] },
    { name: 'public-server', arn: 'arn:cm:srv-pub', ipv4s: ['54.1.2.3'] },
  ],
  ecsServices: [
    { serviceName: 'mcp-gateway-currenttime', discoveryNames: ['currenttime-server'], registryArns: [] },
    { serviceName: 'mcp-gateway-public', discoveryNames: ['public-server'], registryArns: [] },
  ],
};

const PARTIAL = {
  cluster: 'mcp-gateway-ecs-cluster',
  namespace: 'mcp-gateway.local',
  registry: { url: 'https://registry.example.com', auth: { type: 'static', tokenEnv: 'REGISTRY_TOKEN' } },
};

describe('Function: followDocument', () => {
  test('the partial configuration without targets, with follow enabled and a table named (and a note to name yours)', () => {
    const { document, notes } = followDocument({
      ...PARTIAL,
      targets: [{ kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' }],
    });

    expect(document).toEqual({
      ...PARTIAL,
      follow: { enabled: true },
      ownership: { table: DEFAULT_OWNERSHIP_TABLE },
    });
    const config = parseConfig(document);
    expect([config.follow.enabled, config.targets, config.ownership?.table]).toEqual([
      true,
      [],
      DEFAULT_OWNERSHIP_TABLE,
    ]);
    expect(notes).toEqual([
      expect.stringContaining(`ownership.table: ${DEFAULT_OWNERSHIP_TABLE} is a name to replace`),
    ]);
  });

  test('keeps the partial configuration’s table and follow.exclude, with no note', () => {
    const { document, notes } = followDocument({
      ...PARTIAL,
      follow: { exclude: ['/private/'] },
      ownership: { table: 'my-owners' },
    });

    const config = parseConfig(document);
    expect([config.follow.exclude, config.ownership?.table, notes]).toEqual([['/private/'], 'my-owners', []]);
  });

  test('the parameters file: no targets, no table (the construct creates it), follow enabled', () => {
    const params = followParams(
      { cluster: 'c', targets: [{ kind: 'server' }], ownership: { table: 't' }, dryRun: true },
      { follow: { exclude: ['/x/'] } },
    );

    expect(params).toEqual({ cluster: 'c', dryRun: true, follow: { enabled: true, exclude: ['/x/'] } });
  });
});

describe('Function: followVerdicts', () => {
  test('adopts by name only: an IPv4 discover matches through a listed instance is not-owned to follow mode', async () => {
    const entries = [
      { kind: 'server' as const, path: '/currenttime/', url: 'http://currenttime-server:8000/' },
      { kind: 'server' as const, path: '/public/', url: 'http://54.1.2.3:8000/' },
      { kind: 'server' as const, path: '/unread/', error: 'HTTP 403' },
    ];
    const config = parseConfig(followDocument(PARTIAL).document);

    const rows = await followVerdicts(config, WORLD, entries);

    expect(matchEntries(entries, WORLD).map((m) => m.status)).toEqual(['matched', 'matched', 'unreadable']);
    expect(rows.map((r) => [r.path, r.verdict])).toEqual([
      ['/currenttime/', 'adopt'],
      ['/public/', 'not-owned'],
      ['/unread/', 'error'],
    ]);
    expect(rows[2]?.detail).toBe('HTTP 403');
  });
});
