/**
 * The replay's embedded world on each registry generation: every shipped scenario, through the
 * real client and the local registry over HTTP, decides as its file expects. On 1.29 the world's
 * task subnets are allow-listed; without that, the writes are refused by the URL policy.
 */
import { join, resolve } from 'node:path';
import { loadConfigFile } from '../../functions/lib/config/config';
import { NO_METRICS, SILENT_LOGGER } from '../../functions/lib/telemetry/telemetry';
import { GENERATIONS } from '../../tools/local-registry';
import { embeddedEnvironment, loadWorld } from '../../tools/replay/environment';
import { localRegistryFactory, taskSubnets } from '../../tools/replay/local-registry';
import { replay, scenarioDeliveries } from '../../tools/replay/runner';
import { loadInputs } from '../../tools/replay/scenario';

const EVENTS = resolve(__dirname, '..', '..', 'events');
const io = { logger: SILENT_LOGGER, metrics: NO_METRICS };

test('the world’s task subnets are what 1.29 and 1.32 must allow', () => {
  expect(taskSubnets(loadWorld(join(EVENTS, 'world.json')))).toEqual(['10.0.0.0/16']);
});

describe.each(GENERATIONS)('registry %s', (generation) => {
  test('every scenario decides as expected', async () => {
    const config = loadConfigFile(join(EVENTS, 'config.json'));
    const seed = loadWorld(join(EVENTS, 'world.json'));
    const { units, errors } = loadInputs([join(EVENTS, 'scenarios')]);
    expect(errors).toEqual([]);
    const failures: string[] = [];
    let writes = 0;
    for (const unit of units) {
      if (unit.scenario === undefined) continue;
      const env = await embeddedEnvironment({
        seed,
        config,
        ...io,
        registry: localRegistryFactory(config, { generation }),
        // A scenario's own Cloud Map lag, as the replay CLI applies it.
        ...(unit.scenario.world?.registrationLagMs === undefined
          ? {}
          : { registrationLagMs: unit.scenario.world.registrationLagMs }),
      });
      try {
        const results = await replay(env, unit.label, scenarioDeliveries(unit.scenario.steps), io);
        for (const r of results) {
          failures.push(...r.failures.map((f) => `${unit.label}: ${f}`));
          writes += r.records.filter((rec) => rec.action === 'update').length;
        }
      } finally {
        await env.close();
      }
    }
    expect(failures).toEqual([]);
    expect(writes).toBeGreaterThan(0);
  }, 180_000);
});

test.each(['1.29', '1.32'] as const)(
  'on %s without the allow-list every write is refused by the URL policy, naming SSRF_ALLOWED_CIDRS',
  async (generation) => {
    const config = loadConfigFile(join(EVENTS, 'config.json'));
    const seed = loadWorld(join(EVENTS, 'world.json'));
    const { units } = loadInputs([join(EVENTS, 'scenarios', '01-first-resync.json')]);
    const scenario = units[0]?.scenario;
    if (scenario === undefined) throw new Error('scenario 01 is missing');
    const env = await embeddedEnvironment({
      seed,
      config,
      ...io,
      registry: localRegistryFactory(config, { generation, allowedCidrs: [] }),
    });
    try {
      const results = await replay(env, 'no-allow-list', scenarioDeliveries(scenario.steps), io);
      const errors = results.flatMap((r) => r.records).filter((rec) => rec.action === 'error');
      expect(errors.length).toBeGreaterThan(0);
      expect(JSON.stringify(errors)).toContain('SSRF_ALLOWED_CIDRS');
    } finally {
      await env.close();
    }
  },
);
