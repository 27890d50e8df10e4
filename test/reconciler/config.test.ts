import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONFIG_ENV,
  CONFIG_FILE_ENV,
  loadConfigFile,
  loadConfigFromEnv,
  parseConfig,
} from '../../functions/lib/config/config';
import { ConfigError } from '../../functions/lib/errors';

/** The complete configuration example for the v1.0.16 stack (README, "Configuration"). */
const CONFIG_MD_EXAMPLE = `{
  "cluster": "mcp-gateway-ecs-cluster",
  "namespace": "mcp-gateway.local",
  "registryService": "mcp-gateway-registry",
  "registry": {
    "url": "https://registry.example.com",
    "auth": { "type": "keycloak",
              "tokenUrl": "https://keycloak.example.com/realms/mcp-gateway/protocol/openid-connect/token",
              "secretArn": "arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf" }
  },
  "targets": [
    { "kind": "server", "path": "/currenttime/",         "cloudMapService": "currenttime-server",         "ecsService": "mcp-gateway-currenttime" },
    { "kind": "server", "path": "/airegistry-tools/",    "cloudMapService": "mcpgw-server",               "ecsService": "mcp-gateway-mcpgw" },
    { "kind": "server", "path": "/realserverfaketools/", "cloudMapService": "realserverfaketools-server", "ecsService": "mcp-gateway-realserverfaketools" },
    { "kind": "agent",  "path": "/flight-booking-agent", "cloudMapService": "flight-booking-agent",       "ecsService": "mcp-gateway-flight-booking-agent" },
    { "kind": "agent",  "path": "/travel-assistant-agent", "cloudMapService": "travel-assistant-agent",   "ecsService": "mcp-gateway-travel-assistant-agent" }
  ],
  "dryRun": false
}`;

/** The minimum shape, with a static token. */
function minimal(): Record<string, unknown> {
  return {
    cluster: 'mcp-gateway-ecs-cluster',
    namespace: 'mcp-gateway.local',
    registry: { url: 'http://127.0.0.1:7860', auth: { type: 'static', tokenEnv: 'REGISTRY_TOKEN' } },
    targets: [{ kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' }],
  };
}

/** `minimal()` with one field replaced (or removed, with `undefined`) along a dotted path. */
function withField(path: string, value: unknown): Record<string, unknown> {
  const config = minimal();
  const keys = path.split('.');
  let node: Record<string, unknown> = config;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = keys.at(-1) as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return config;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('Function: parseConfig', () => {
  it('accepts the complete example of the README', () => {
    // Prepare
    const input: unknown = JSON.parse(CONFIG_MD_EXAMPLE);

    // Act
    const config = parseConfig(input);

    // Assess
    expect(config.clusterName).toBe('mcp-gateway-ecs-cluster');
    expect(config.registryService).toBe('mcp-gateway-registry');
    expect(config.registry.auth).toEqual({
      type: 'keycloak',
      tokenUrl: 'https://keycloak.example.com/realms/mcp-gateway/protocol/openid-connect/token',
      secretArn:
        'arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf',
    });
    expect(config.targets.map((t) => [t.kind, t.path, t.cloudMapService, t.ecsService, t.port])).toEqual([
      ['server', '/currenttime/', 'currenttime-server', 'mcp-gateway-currenttime', 'url'],
      ['server', '/airegistry-tools/', 'mcpgw-server', 'mcp-gateway-mcpgw', 'url'],
      [
        'server',
        '/realserverfaketools/',
        'realserverfaketools-server',
        'mcp-gateway-realserverfaketools',
        'url',
      ],
      ['agent', '/flight-booking-agent', 'flight-booking-agent', 'mcp-gateway-flight-booking-agent', 'url'],
      [
        'agent',
        '/travel-assistant-agent',
        'travel-assistant-agent',
        'mcp-gateway-travel-assistant-agent',
        'url',
      ],
    ]);
    expect(config.dryRun).toBe(false);
  });

  it('accepts the minimum shape, a static token and a target without ecsService', () => {
    // Act
    const config = parseConfig(minimal());

    // Assess
    expect(config.registry.auth).toEqual({ type: 'static', tokenEnv: 'REGISTRY_TOKEN' });
    expect(config.targets[0]?.ecsService).toBeUndefined();
  });

  it('fills in the defaults', () => {
    // Act
    const config = parseConfig(minimal());

    // Assess
    expect(config.dryRun).toBe(false);
    expect(config.targets[0]?.port).toBe('url');
    expect(config.registry.timeoutMs).toBe(5_000);
    expect(config.registry.maxAttempts).toBe(3);
    expect(config.registry.reenableAfterWrite).toBe(false);
    expect(config.registryService).toBe('mcp-gateway-registry');
    expect(config.resyncMinutes).toBe(5);
    expect(config.resyncFullCheckMinutes).toBe(30);
  });

  it('defaults the names and targets to the MCP Gateway v1.0.16 stack', () => {
    // Act
    const config = parseConfig({ registry: (minimal() as { registry: unknown }).registry });

    // Assess
    expect(config).toMatchObject({
      cluster: 'mcp-gateway-ecs-cluster',
      clusterName: 'mcp-gateway-ecs-cluster',
      namespace: 'mcp-gateway.local',
      registryService: 'mcp-gateway-registry',
    });
    expect(config.targets.map((t) => t.path)).toEqual([
      '/currenttime/',
      '/airegistry-tools/',
      '/realserverfaketools/',
      '/flight-booking-agent',
      '/travel-assistant-agent',
    ]);
  });

  it('refuses lagRetry, a field of earlier versions, saying why and what to do', () => {
    // Act
    const error = errorOf(() => parseConfig({ ...minimal(), lagRetry: { attempts: 2 }, dry_run: true }));

    // Assess
    expect(error.problems).toEqual([
      expect.stringMatching(/^lagRetry: removed: the deployed reconciler never used it .*; delete it$/),
      '(root): Unrecognized key: "dry_run"',
    ]);
  });

  it('keeps what is given instead of the defaults', () => {
    // Prepare
    const input = minimal();
    input.dryRun = true;
    input.resyncMinutes = 10;
    (input.registry as Record<string, unknown>).timeoutMs = 250;
    (input.targets as Record<string, unknown>[])[0] = {
      kind: 'agent',
      path: '/flight-booking-agent',
      cloudMapService: 'flight-booking-agent',
      port: 'instance',
    };

    // Act
    const config = parseConfig(input);

    // Assess
    expect(config.dryRun).toBe(true);
    expect(config.resyncMinutes).toBe(10);
    expect(config.registry.timeoutMs).toBe(250);
    expect(config.targets[0]?.port).toBe('instance');
  });

  it.each([
    ['mcp-gateway-ecs-cluster', 'mcp-gateway-ecs-cluster'],
    ['arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster', 'mcp-gateway-ecs-cluster'],
    ['arn:aws-cn:ecs:cn-north-1:111122223333:cluster/prod_cluster-2', 'prod_cluster-2'],
    ['arn:aws-us-gov:ecs:us-gov-west-1:111122223333:cluster/gov', 'gov'],
  ])('cluster %s → clusterName %s', (cluster, clusterName) => {
    // Act
    const config = parseConfig({ ...minimal(), cluster });

    // Assess
    expect(config.cluster).toBe(cluster);
    expect(config.clusterName).toBe(clusterName);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'wrong kind',
      withField('targets', [{ kind: 'tool', path: '/x/', cloudMapService: 'x' }]),
      /targets\.0\.kind/,
    ],
    [
      'missing path',
      withField('targets', [{ kind: 'server', cloudMapService: 'currenttime-server' }]),
      /targets\.0\.path/,
    ],
    [
      'path without a leading slash',
      withField('targets', [{ kind: 'server', path: 'currenttime/', cloudMapService: 'currenttime-server' }]),
      /targets\.0\.path: must start with \//,
    ],
    [
      'registry URL that is not http(s)',
      withField('registry.url', 'ftp://registry.example.com'),
      /registry\.url/,
    ],
    ['registry URL that is no URL', withField('registry.url', 'registry.example.com'), /registry\.url/],
    [
      'bad secret ARN',
      withField('registry.auth', {
        type: 'keycloak',
        tokenUrl: 'https://keycloak.example.com/realms/mcp-gateway/protocol/openid-connect/token',
        secretArn: 'mcp-gateway-keycloak-m2m-client-secret',
      }),
      /registry\.auth\.secretArn: must be a Secrets Manager secret ARN/,
    ],
    [
      'bad token URL',
      withField('registry.auth', {
        type: 'keycloak',
        tokenUrl: 'not a url',
        secretArn: 'arn:aws:secretsmanager:us-west-2:111122223333:secret:x',
      }),
      /registry\.auth\.tokenUrl/,
    ],
    [
      'a token instead of an env var name',
      withField('registry.auth', { type: 'static', tokenEnv: 'Bearer abc.def' }),
      /registry\.auth\.tokenEnv: must be an environment variable name/,
    ],
    ['unknown auth type', withField('registry.auth', { type: 'basic', user: 'u' }), /registry\.auth/],
    ['unknown top-level key', withField('clusterName', 'x'), /\(root\): Unrecognized key: "clusterName"/],
    [
      'unknown key in a target',
      withField('targets', [{ kind: 'server', path: '/x/', cloudMapService: 'x', proxyPassUrl: 'http://x' }]),
      /targets\.0: Unrecognized key: "proxyPassUrl"/,
    ],
    ['empty targets', withField('targets', []), /targets: must list at least one target/],
    [
      'bad cluster',
      withField('cluster', 'arn:aws:ecs:us-west-2:1:service/x'),
      /cluster: must be an ECS cluster/,
    ],
    ['bad namespace', withField('namespace', 'mcp gateway'), /namespace/],
    ['dryRun as a string', withField('dryRun', 'false'), /dryRun/],
    [
      'bad port mode',
      withField('targets', [{ kind: 'server', path: '/x/', cloudMapService: 'x', port: '8000' }]),
      /targets\.0\.port/,
    ],
    ['resyncMinutes out of range', withField('resyncMinutes', 61), /resyncMinutes: must be at most 60/],
    ['timeoutMs out of range', withField('registry.timeoutMs', 10), /registry\.timeoutMs/],
    [
      'path with a .. segment',
      withField('targets', [
        { kind: 'server', path: '/currenttime/../admin/secret', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must have no "\." or "\.\." segments/,
    ],
    [
      'path with a trailing .. segment',
      withField('targets', [
        { kind: 'server', path: '/currenttime/..', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must have no "\." or "\.\."/,
    ],
    [
      'path with a . segment',
      withField('targets', [
        { kind: 'server', path: '/./currenttime/', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must have no "\." or "\.\."/,
    ],
    [
      'path with a percent-encoded .. segment',
      withField('targets', [
        { kind: 'server', path: '/currenttime/%2e%2E/admin', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must have no "\." or "\.\." segments \(also percent-encoded\)/,
    ],
    [
      'path with a percent-encoded . segment',
      withField('targets', [
        { kind: 'server', path: '/%2E/currenttime/', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must have no/,
    ],
    [
      'path with a percent-encoded slash',
      withField('targets', [
        { kind: 'server', path: '/currenttime%2f..%2fadmin/', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must not percent-encode a \//,
    ],
    [
      'path with a malformed percent-encoding',
      withField('targets', [
        { kind: 'server', path: '/currenttime%zz/', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: has a malformed percent-encoding/,
    ],
    [
      'path with a query',
      withField('targets', [
        { kind: 'server', path: '/currenttime/?admin=1', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no \? or #/,
    ],
    [
      'path with a fragment',
      withField('targets', [
        { kind: 'server', path: '/currenttime/#x', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no \? or #/,
    ],
    [
      'path with a space',
      withField('targets', [
        { kind: 'server', path: '/current time/', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no whitespace or control characters/,
    ],
    [
      'path with a tab',
      withField('targets', [
        { kind: 'server', path: '/currenttime/\t', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no whitespace/,
    ],
    [
      'path with a newline',
      withField('targets', [
        { kind: 'server', path: '/currenttime/\n', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no whitespace/,
    ],
    [
      'path with a control character',
      withField('targets', [
        { kind: 'server', path: '/currenttime/\u0001', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no whitespace or control characters/,
    ],
    [
      'path with a DEL character',
      withField('targets', [
        { kind: 'server', path: '/currenttime/\u007f', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no whitespace or control/,
    ],
    [
      'path with a backslash',
      withField('targets', [
        { kind: 'server', path: '/currenttime\\..\\admin', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no backslash/,
    ],
    [
      'path with an empty segment',
      withField('targets', [
        { kind: 'server', path: '//registry.example.com/', cloudMapService: 'currenttime-server' },
      ]),
      /targets\.0\.path: must contain no empty segment/,
    ],
    [
      'cloudMapService with the namespace',
      withField('targets', [
        { kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server.mcp-gateway.local' },
      ]),
      /targets\.0\.cloudMapService: must be the bare Cloud Map service name, without the namespace: use "currenttime-server", not "currenttime-server\.mcp-gateway\.local"/,
    ],
    [
      'cloudMapService with the namespace in another letter case',
      withField('targets', [
        { kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server.MCP-Gateway.Local' },
      ]),
      /targets\.0\.cloudMapService: must be the bare Cloud Map service name.*use "currenttime-server"/,
    ],
    [
      'cloudMapService of dots',
      withField('targets', [{ kind: 'server', path: '/currenttime/', cloudMapService: '..' }]),
      /targets\.0\.cloudMapService: must be a Cloud Map service name/,
    ],
    [
      'cloudMapService with a trailing dot',
      withField('targets', [
        { kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server.' },
      ]),
      /targets\.0\.cloudMapService: must be a Cloud Map service name/,
    ],
    [
      'blank registryService',
      withField('registryService', '   '),
      /registryService: must not be empty or blank/,
    ],
    [
      'empty registryService',
      withField('registryService', ''),
      /registryService: must not be empty or blank/,
    ],
    ['blank cluster', withField('cluster', '  '), /cluster: must be an ECS cluster name or ARN/],
    ['empty namespace', withField('namespace', ''), /namespace: must be a Cloud Map namespace name/],
    ['namespace of dots', withField('namespace', '..'), /namespace: must be a Cloud Map namespace name/],
    [
      'blank ecsService',
      withField('targets', [{ kind: 'server', path: '/x/', cloudMapService: 'x', ecsService: ' ' }]),
      /targets\.0\.ecsService/,
    ],
    [
      'blank tokenEnv',
      withField('registry.auth', { type: 'static', tokenEnv: ' ' }),
      /registry\.auth\.tokenEnv/,
    ],
  ])('names the bad field: %s', (_name, input, field) => {
    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.name).toBe('ConfigError');
    expect(error.message).toMatch(/^invalid configuration: /);
    expect(error.message).toMatch(field);
  });

  it.each(['/currenttime/', '/flight-booking-agent', '/my.server/', '/a/b/', '/a..b/', '/caf%C3%A9/'])(
    'accepts the registry path %s',
    (path) => {
      // Act
      const config = parseConfig(withField('targets', [{ kind: 'server', path, cloudMapService: 'x' }]));

      // Assess
      expect(config.targets[0]?.path).toBe(path);
    },
  );

  it('keeps a registryService trimmed', () => {
    // Act
    const config = parseConfig(withField('registryService', ' mcp-gateway-registry '));

    // Assess
    expect(config.registryService).toBe('mcp-gateway-registry');
  });

  it('names a namespaced cloudMapService and a duplicate target at once', () => {
    // Prepare
    const input = withField('targets', [
      { kind: 'server', path: '/a/', cloudMapService: 'a.mcp-gateway.local' },
      { kind: 'server', path: '/a/', cloudMapService: 'a' },
    ]);

    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.message).toMatch(/targets\.0\.cloudMapService: .*; targets\.1\.path: duplicates targets\.0/);
  });

  it('does not echo a token pasted where an env var name belongs', () => {
    // Prepare
    const pasted = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.sig-SECRET';
    const input = withField('registry.auth', { type: 'static', tokenEnv: pasted });

    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.message).toMatch(/registry\.auth\.tokenEnv/);
    expect(error.message).not.toContain(pasted);
    expect(error.message).not.toContain('SECRET');
  });

  it('names every bad field at once', () => {
    // Prepare
    const input = { ...minimal(), namespace: 7, dryRun: 'yes' };

    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.message).toMatch(/namespace/);
    expect(error.message).toMatch(/dryRun/);
  });

  it('rejects two targets with the same kind and path, naming both', () => {
    // Prepare
    const input = withField('targets', [
      { kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' },
      { kind: 'agent', path: '/currenttime/', cloudMapService: 'currenttime-agent' },
      { kind: 'server', path: '/currenttime/', cloudMapService: 'other-server' },
    ]);

    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess: a server and an agent may share a path; two servers may not.
    expect(error.message).toBe(
      'invalid configuration: targets.2.path: duplicates targets.0 (server /currenttime/)',
    );
  });

  it('does not echo a value of the wrong type, naming the type it got', () => {
    // Prepare
    const pasted = 'Bearer eyJhbGciOiJSUzI1NiJ9.SECRET';
    const input = withField('registry.auth', pasted);

    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.message).toBe(
      'invalid configuration: registry.auth: Invalid input: expected object, received string',
    );
  });

  it('names every unknown key of an object, not only the first', () => {
    // Prepare
    const input = { ...minimal(), clusterName: 'x', dry_run: true };

    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.message).toBe('invalid configuration: (root): Unrecognized keys: "clusterName", "dry_run"');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['registry', withField('registry', []), 'registry: Invalid input: expected object, received array'],
    [
      'registry.auth',
      withField('registry.auth', []),
      'registry.auth: Invalid input: expected object, received array',
    ],
    [
      'a target',
      withField('targets', [['server', '/x/', 'x']]),
      'targets.0: Invalid input: expected object, received array',
    ],
  ])('refuses an array where an object belongs: %s', (_name, input, problem) => {
    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.message).toBe(`invalid configuration: ${problem}`);
  });

  it.each<[string, unknown, string]>([
    ['a fraction', 250.5, 'registry.timeoutMs: must be an integer'],
    ['too small', 99, 'registry.timeoutMs: must be at least 100'],
    ['too large', 60_001, 'registry.timeoutMs: must be at most 60000'],
    ['a string', '250', 'registry.timeoutMs: Invalid input: expected number, received string'],
  ])('names the bound an integer misses: %s', (_name, value, problem) => {
    // Act
    const error = errorOf(() => parseConfig(withField('registry.timeoutMs', value)));

    // Assess
    expect(error.message).toBe(`invalid configuration: ${problem}`);
  });

  it.each([
    [
      'kind',
      withField('targets', [{ kind: 'tool', path: '/x/', cloudMapService: 'x' }]),
      'targets.0.kind: Invalid option: expected one of "server" | "agent"',
    ],
    [
      'auth type',
      withField('registry.auth', { type: 'basic' }),
      'registry.auth.type: Invalid option: expected one of "keycloak" | "static"',
    ],
    ['missing field', withField('registry.url', undefined), 'registry.url: missing (required)'],
  ])('words a bad %s with what was expected', (_name, input, problem) => {
    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.message).toBe(`invalid configuration: ${problem}`);
  });

  it.each([
    'http:registry.example.com',
    'https:/registry.example.com',
    'ftp://registry.example.com',
    'https://',
  ])('refuses the registry URL %s', (url) => {
    // Act
    const error = errorOf(() => parseConfig(withField('registry.url', url)));

    // Assess
    expect(error.message).toBe('invalid configuration: registry.url: must be an http(s) URL');
  });

  it('keeps a registry URL trimmed, without tabs or newlines', () => {
    // Act
    const config = parseConfig(withField('registry.url', ' https://registry.exa\nmple.com/\t'));

    // Assess
    expect(config.registry.url).toBe('https://registry.example.com/');
  });

  it.each([null, [], 'config', 42])('rejects a configuration that is not an object: %p', (input) => {
    // Act
    const error = errorOf(() => parseConfig(input));

    // Assess
    expect(error.message).toMatch(/^invalid configuration: \(root\): /);
  });
});

describe('Function: loadConfigFromEnv', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reconciler-config-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it(`reads JSON from ${CONFIG_ENV}`, () => {
    // Prepare
    const env = { [CONFIG_ENV]: CONFIG_MD_EXAMPLE };

    // Act
    const config = loadConfigFromEnv(env);

    // Assess
    expect(config.targets).toHaveLength(5);
    expect(config.clusterName).toBe('mcp-gateway-ecs-cluster');
  });

  it(`reads a file named by ${CONFIG_FILE_ENV}`, () => {
    // Prepare
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(minimal()));

    // Act
    const config = loadConfigFromEnv({ [CONFIG_FILE_ENV]: file });

    // Assess
    expect(config.targets[0]?.path).toBe('/currenttime/');
  });

  it(`prefers ${CONFIG_ENV} over ${CONFIG_FILE_ENV}`, () => {
    // Prepare
    const file = join(dir, 'other.json');
    writeFileSync(file, JSON.stringify({ ...minimal(), cluster: 'from-file' }));

    // Act
    const config = loadConfigFromEnv({ [CONFIG_ENV]: JSON.stringify(minimal()), [CONFIG_FILE_ENV]: file });

    // Assess
    expect(config.cluster).toBe('mcp-gateway-ecs-cluster');
  });

  it(`falls back to the file when ${CONFIG_ENV} is blank`, () => {
    // Prepare
    const file = join(dir, 'blank.json');
    writeFileSync(file, JSON.stringify({ ...minimal(), cluster: 'from-file' }));

    // Act
    const config = loadConfigFromEnv({ [CONFIG_ENV]: '   ', [CONFIG_FILE_ENV]: file });

    // Assess
    expect(config.cluster).toBe('from-file');
  });

  it('says how to configure when neither is set', () => {
    // Act
    const error = errorOf(() => loadConfigFromEnv({}));

    // Assess
    expect(error.message).toBe(
      `no configuration: set ${CONFIG_ENV} (JSON) or ${CONFIG_FILE_ENV} (a JSON file path)`,
    );
  });

  it(`reports invalid JSON in ${CONFIG_ENV}, naming the variable`, () => {
    // Act
    const error = errorOf(() => loadConfigFromEnv({ [CONFIG_ENV]: '{"cluster": ' }));

    // Assess
    expect(error.message).toMatch(new RegExp(`^invalid ${CONFIG_ENV}: not valid JSON \\(.+\\)$`));
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it(`names ${CONFIG_ENV} as the source of a bad field`, () => {
    // Act
    const error = errorOf(() =>
      loadConfigFromEnv({ [CONFIG_ENV]: JSON.stringify(withField('targets', [])) }),
    );

    // Assess
    expect(error.message).toBe(
      `invalid ${CONFIG_ENV}: targets: must list at least one target (or set follow.enabled)`,
    );
  });

  it('reports invalid JSON in a file, naming the file', () => {
    // Prepare
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "cluster": "x", }');

    // Act
    const error = errorOf(() => loadConfigFromEnv({ [CONFIG_FILE_ENV]: file }));

    // Assess
    expect(error.message).toMatch(
      new RegExp(`^invalid ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`),
    );
  });

  it('reads a file saved with a UTF-8 byte-order mark', () => {
    // Prepare
    const file = join(dir, 'bom.json');
    writeFileSync(file, `\uFEFF${JSON.stringify({ ...minimal(), cluster: 'from-bom-file' })}`);

    // Act
    const config = loadConfigFile(file);

    // Assess
    expect(config.cluster).toBe('from-bom-file');
  });

  it('reports a file that cannot be read', () => {
    // Prepare
    const file = join(dir, 'does-not-exist.json');

    // Act
    const error = errorOf(() => loadConfigFile(file));

    // Assess
    expect(error.message).toMatch(/^cannot read configuration file .*does-not-exist\.json: ENOENT/);
  });
});
