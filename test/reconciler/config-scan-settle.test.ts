import { parseConfig } from '../../functions/lib/config/config';
import { ConfigError } from '../../functions/lib/errors';

function withSettle(value?: unknown): Record<string, unknown> {
  return {
    cluster: 'mcp-gateway-ecs-cluster',
    namespace: 'mcp-gateway.local',
    registry: {
      url: 'http://127.0.0.1:7860',
      auth: { type: 'static', tokenEnv: 'REGISTRY_TOKEN' },
      ...(value === undefined ? {} : { scanSettleMs: value }),
    },
    targets: [{ kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' }],
  };
}

describe('registry.scanSettleMs', () => {
  it('defaults to the registry scan timeout of 60 s plus a margin, after the first verification', () => {
    const config = parseConfig(withSettle());
    expect(config.registry.scanSettleMs).toBe(75_000);
    expect(config.registry.scanSettleMs).toBeGreaterThanOrEqual(config.registry.verifyAfterMs);
  });

  it.each([0, 15_000, 900_000])('accepts %d', (value) => {
    expect(parseConfig(withSettle(value)).registry.scanSettleMs).toBe(value);
  });

  it.each([-1, 900_001, 1.5, '75000'])('rejects %p, naming the field', (value) => {
    expect(() => parseConfig(withSettle(value))).toThrow(ConfigError);
    expect(() => parseConfig(withSettle(value))).toThrow(/registry\.scanSettleMs/);
  });
});
