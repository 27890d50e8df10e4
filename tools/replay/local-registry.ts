import { randomBytes } from 'node:crypto';
import type { ReconcilerConfig } from '../../functions/reconciler/config';
import { NO_COUNT } from '../../functions/reconciler/ports';
import { createRegistryClient } from '../../functions/reconciler/registry/client';
import { startLocalRegistry } from '../local-registry';
import type { EmbeddedOptions } from './environment';

/**
 * The embedded world's registry: the local registry server on 127.0.0.1, seeded from the world's
 * records, and the reconciler's real registry client talking to it over HTTP with a static token.
 * So the replay exercises the same client, forms and read-backs as the Lambda.
 */
export function localRegistryFactory(config: ReconcilerConfig): NonNullable<EmbeddedOptions['registry']> {
  return async (seed, clock) => {
    const token = randomBytes(24).toString('base64url');
    const disabled = new Set(seed.world.registry.disabled ?? []);
    const state = Object.fromEntries(
      seed.servers.map((s) => [String(s.path), !disabled.has(String(s.path))]),
    );
    const server = await startLocalRegistry({
      staticToken: token,
      seed: { servers: seed.servers, agents: seed.agents, state },
      now: clock.now,
    });
    const client = createRegistryClient(
      { ...config.registry, url: server.url, auth: { type: 'static', tokenEnv: 'REPLAY_REGISTRY_TOKEN' } },
      { env: { REPLAY_REGISTRY_TOKEN: token }, sleep: clock.sleep },
    );
    return {
      port: client,
      control: {
        url: async (ref) => (await client.readEntry(ref, NO_COUNT)).url,
        set: async (ref) => {
          if (ref.kind === 'server') {
            const record = server.getServer(ref.path);
            if (record === undefined) throw new Error(`no server at ${ref.path}`);
            server.putServer({ ...record, proxy_pass_url: ref.url });
          } else {
            const card = server.getAgent(ref.path);
            if (card === undefined) throw new Error(`no agent at ${ref.path}`);
            server.putAgent({ ...card, url: ref.url });
          }
        },
      },
      close: () => server.stop(),
    };
  };
}
