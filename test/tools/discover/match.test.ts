/** The matching rule of discover, on plain data: every reason an entry is or is not a target. */
import { type DiscoverWorld, matchEntries } from '../../../tools/discover/match';
import { summaryLine } from '../../../tools/discover/output';

const WORLD: DiscoverWorld = {
  namespace: 'mcp-gateway.local',
  cloudMapServices: [
    { name: 'currenttime-server', arn: 'arn:cm:srv-time', ipv4s: ['10.0.1.11'] },
    { name: 'mcpgw-server', arn: 'arn:cm:srv-gw', ipv4s: ['10.0.2.21', '10.0.9.9'] },
    { name: 'stale-server', arn: 'arn:cm:srv-stale', ipv4s: ['10.0.9.9'] },
  ],
  ecsServices: [
    { serviceName: 'mcp-gateway-currenttime', discoveryNames: ['currenttime-server'], registryArns: [] },
    { serviceName: 'mcp-gateway-mcpgw', discoveryNames: [], registryArns: ['arn:cm:srv-gw'] },
  ],
};

const entry = (url: string | undefined, path = '/x/') =>
  url === undefined
    ? { kind: 'server' as const, path, error: 'HTTP 403' }
    : { kind: 'server' as const, path, url };

describe('Function: matchEntries', () => {
  test.each([
    ['http://currenttime-server:8000/', 'matched', 'currenttime-server', 'service-connect'],
    [
      'http://CurrentTime-Server.mcp-gateway.local.:8000/',
      'matched',
      'currenttime-server',
      'service-connect',
    ],
    ['http://10.0.2.21:8003/', 'matched', 'mcpgw-server', 'service-registries'],
    ['http://10.0.9.9:8003/', 'ambiguous', undefined, undefined],
    ['http://10.0.5.5:8003/', 'unmatched-ip', undefined, undefined],
    ['http://100.64.0.9:8003/', 'unmatched-ip', undefined, undefined],
    ['http://1.2.3.4:8000/', 'foreign', undefined, undefined],
    ['https://weather.example.com/mcp/', 'foreign', undefined, undefined],
    ['http://nothing-here:8000/', 'no-cloud-map-service', undefined, undefined],
    ['http://nothing-here.mcp-gateway.local:8000/', 'no-cloud-map-service', undefined, undefined],
    ['http://stale-server:8000/', 'no-ecs-service', 'stale-server', undefined],
    ['not a url', 'foreign', undefined, undefined],
  ])('%s → %s', (url, status, cloudMapService, via) => {
    const [m] = matchEntries([entry(url)], WORLD);

    expect([m?.status, m?.cloudMapService, m?.via]).toEqual([status, cloudMapService, via]);
    expect(m?.detail).not.toBe('');
  });

  test('a private IP no service lists is unmatched-ip, with how to make the entry a target', () => {
    const [m] = matchEntries([entry('http://10.0.5.5:8003/', '/old-time/')], WORLD);

    expect(m?.status).toBe('unmatched-ip');
    expect(m?.detail).toContain('a replaced');
    expect(m?.detail).toContain('"path": "/old-time/"');
    expect(m?.detail).toContain('"targets"');
  });

  test('a public IP a service lists is matched to it; one nobody lists is foreign', () => {
    const world = {
      ...WORLD,
      cloudMapServices: [{ name: 'currenttime-server', arn: 'arn:cm:srv-time', ipv4s: ['54.12.0.7'] }],
    };

    const [listed, unlisted] = matchEntries(
      [entry('http://54.12.0.7:8000/', '/a/'), entry('http://54.12.0.8:8000/', '/b/')],
      world,
    );

    expect(listed?.status).toBe('matched');
    expect(unlisted?.status).toBe('foreign');
    expect(unlisted?.detail).toContain('public IPv4');
  });

  test('a Cloud Map service published by two ECS services is ambiguous', () => {
    const world = {
      ...WORLD,
      ecsServices: [
        ...WORLD.ecsServices,
        { serviceName: 'mcp-gateway-time-canary', discoveryNames: ['currenttime-server'], registryArns: [] },
      ],
    };

    const [m] = matchEntries([entry('http://currenttime-server:8000/')], world);

    expect(m?.status).toBe('ambiguous');
    expect(m?.detail).toContain('mcp-gateway-currenttime, mcp-gateway-time-canary');
  });

  test('an entry that could not be read is reported, not matched', () => {
    const [m] = matchEntries([entry(undefined)], WORLD);

    expect([m?.status, m?.detail]).toEqual(['unreadable', 'HTTP 403']);
  });
});

describe('Function: summaryLine', () => {
  test('counts the unmatched-ip entries beside the targets, and says what to do with them', () => {
    const entries = [
      entry('http://currenttime-server:8000/', '/a/'),
      entry('http://10.0.5.5:8003/', '/b/'),
      entry('http://100.64.0.9:8003/', '/c/'),
      entry('http://1.2.3.4:8000/', '/d/'),
      entry(undefined, '/e/'),
    ];
    const matches = matchEntries(entries, WORLD);

    const line = summaryLine({ entries, matches, cloudMapServices: 3, ecsServices: 2, endless: 0 });
    const none = summaryLine({
      entries: entries.slice(0, 1),
      matches: matches.slice(0, 1),
      cloudMapServices: 3,
      ecsServices: 2,
      endless: 0,
    });

    expect(line).toBe(
      '5 registry entries (0 disabled, 0 security-pending), 3 Cloud Map services, 2 ECS services: ' +
        '1 target(s) found, 2 unmatched-ip (add each as a target to have it rewritten; see its row); ' +
        '1 unreadable, 0 list(s) looking endless',
    );
    expect(none).toContain('1 target(s) found, 0 unmatched-ip; 0 unreadable');
  });
});
