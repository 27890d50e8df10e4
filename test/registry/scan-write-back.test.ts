/**
 * The registry's background scan against the client, on every generation that scans a write, for
 * both path shapes: the scan of an earlier write finishing after a later one puts the earlier
 * address back (its tag write saves the entry it was handed), and the later verification reports
 * it; on 1.32 with SECURITY_ALLOW_UNSAFE_SERVERS the server stays enabled and its blocked tools are
 * on the record. Whatever route the client takes (PATCH or register), the outcome must hold.
 */
import type { EntryRef } from '../../functions/lib/reconcile/ports';
import type { Generation, LocalRegistry, LocalRegistryOptions } from '../../tools/local-registry';
import { clientFor, countingContext, fixtureServer, startFixtureRegistry } from './helpers';

const CASES: { generation: Generation; path: string }[] = [
  { generation: '1.0.16', path: '/currenttime/' },
  { generation: '1.29', path: '/weather' },
  { generation: '1.29', path: '/currenttime/' },
  { generation: '1.32', path: '/weather' },
  { generation: '1.32', path: '/currenttime/' },
];

async function start(generation: Generation, options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  const registry = await startFixtureRegistry({ generation, allowedCidrs: ['10.0.0.0/16'], ...options });
  registry.putServer(
    { ...fixtureServer('/currenttime/'), server_name: 'Weather', path: '/weather' },
    { enabled: true },
  );
  registry.setEnabled('/currenttime/', true);
  return registry;
}

describe.each(CASES)('registry $generation, $path', ({ generation, path }) => {
  let registry: LocalRegistry;
  const ref: EntryRef = { kind: 'server', path };
  beforeEach(async () => {
    registry = await start(generation);
  });
  afterEach(() => registry.stop());

  test('an older address put back by a late scan is reported by the verification, never taken as confirmed', async () => {
    const client = clientFor(registry);
    registry.faults.disableAfterWrite(1, { delayMs: 60_000 });
    const first = await client.writeUrl(
      await client.readEntry(ref, countingContext()),
      'http://10.0.3.17:8000/',
      countingContext(),
    );
    expect(first).toMatchObject({ confirmed: true, disabledAfterWrite: false });
    await client.writeUrl(
      await client.readEntry(ref, countingContext()),
      'http://10.0.3.18:8000/',
      countingContext(),
    );
    expect(registry.getServer(path)?.proxy_pass_url).toBe('http://10.0.3.18:8000/');

    expect(registry.finishScans()).toBe(1);

    expect(registry.getServer(path)?.proxy_pass_url).toBe('http://10.0.3.17:8000/');
    const verification = await client.verifyWrite(ref, 'http://10.0.3.18:8000/', countingContext());
    expect(verification).toMatchObject({
      confirmed: false,
      addressWrittenBack: true,
      disabled: true,
      disabledSecurityPending: true,
      url: 'http://10.0.3.17:8000/',
    });
  });
});

describe.each(['/weather', '/currenttime/'])(
  'registry 1.32 with SECURITY_ALLOW_UNSAFE_SERVERS, %s',
  (path) => {
    let registry: LocalRegistry;
    const ref: EntryRef = { kind: 'server', path };
    beforeEach(async () => {
      registry = await start('1.32', { scan: { allowUnsafeServers: true } });
    });
    afterEach(() => registry.stop());

    test('an unsafe scan leaves the server enabled with its flagged tools blocked on the record the client reads', async () => {
      const client = clientFor(registry);
      registry.faults.scanNext(1, { verdict: 'unsafe', tools: ['current_time_by_timezone'], tag: false });
      const result = await client.writeUrl(
        await client.readEntry(ref, countingContext()),
        'http://10.0.3.17:8000/',
        countingContext(),
      );
      expect(result).toMatchObject({ confirmed: true, disabledAfterWrite: false });
      expect(registry.isEnabled(path)).toBe(true);
      const entry = await client.readEntry(ref, countingContext());
      expect(entry.enabled).toBe(true);
      expect(entry.record.blocked_tools).toEqual(['current_time_by_timezone']);
    });
  },
);
