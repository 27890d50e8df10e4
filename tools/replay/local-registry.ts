import { randomBytes } from 'node:crypto';
import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import { createRegistryClient } from '../../functions/lib/registry/client';
import {
  GENERATIONS,
  type Generation,
  isDocumentDbGeneration,
  NEWEST_GENERATION,
  naiveUtc,
  startLocalRegistry,
} from '../local-registry';
import type { EmbeddedOptions, WorldSeed } from './environment';

/** How the embedded world's registry behaves. */
export interface LocalRegistryFactoryOptions {
  /** The registry generation to speak; the newest (`1.32`) by default. */
  generation?: Generation;
  /** 1.29/1.32's `SSRF_ALLOWED_CIDRS`; the world's task subnets by default. */
  allowedCidrs?: string[];
}

/**
 * The embedded world's registry: the local registry server on 127.0.0.1, seeded from the world's
 * records, and the reconciler's real registry client talking to it over HTTP with a static token.
 * So the replay exercises the same client, routes and read-backs as the Lambda. On 1.29 and 1.32 the
 * world's task subnets are allow-listed in the URL policy, as a user must (README, "Registry URL policy").
 */
export function localRegistryFactory(
  config: ReconcilerConfig,
  options: LocalRegistryFactoryOptions = {},
): NonNullable<EmbeddedOptions['registry']> {
  const generation = options.generation ?? NEWEST_GENERATION;
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
      generation,
      allowedCidrs: options.allowedCidrs ?? taskSubnets(seed),
    });
    const client = createRegistryClient(
      { ...config.registry, url: server.url, auth: { type: 'static', tokenEnv: 'REPLAY_REGISTRY_TOKEN' } },
      { env: { REPLAY_REGISTRY_TOKEN: token }, sleep: clock.sleep },
    );
    let tick = 0;
    // An out-of-band change is a change: on 1.29/1.32 it moves updated_at, so a stale tag gets its 412.
    const stamp = (): Record<string, unknown> =>
      isDocumentDbGeneration(server.generation) ? { updated_at: naiveUtc(clock.now(), ++tick) } : {};
    return {
      port: client,
      control: {
        url: async (ref) => (await client.readEntry(ref, NO_COUNT)).url,
        set: async (ref) => {
          if (ref.kind === 'server') {
            const record = server.getServer(ref.path);
            if (record === undefined) throw new Error(`no server at ${ref.path}`);
            server.putServer({ ...record, proxy_pass_url: ref.url, ...stamp() });
          } else {
            const card = server.getAgent(ref.path);
            if (card === undefined) throw new Error(`no agent at ${ref.path}`);
            server.putAgent({ ...card, url: ref.url, ...stamp() });
          }
        },
      },
      close: () => server.stop(),
    };
  };
}

/** Whether `text` names a registry generation the local registry speaks. */
export function isGeneration(text: string): text is Generation {
  return (GENERATIONS as readonly string[]).includes(text);
}

/** The /16 of every task address the world starts with: the VPC ranges a user allow-lists. */
export function taskSubnets(seed: WorldSeed): string[] {
  const ranges = new Set<string>();
  for (const service of seed.world.services) {
    for (const task of service.tasks ?? []) {
      const [a, b] = task.ipv4.split('.');
      if (a !== undefined && b !== undefined) ranges.add(`${a}.${b}.0.0/16`);
    }
  }
  return [...ranges].sort();
}
