import type { ReconcilerConfig } from '../../functions/reconciler/config';
import type { CallContext, EntryRef, TargetKind } from '../../functions/reconciler/ports';
import { createTokenProvider, type RegistryClient } from '../../functions/reconciler/registry/client';
import { RegistryHttp } from '../../functions/reconciler/registry/http';
import { listPaths } from '../../functions/reconciler/registry/list';

/** One registry entry with its address, as discover needs it. */
export interface ListedEntry extends EntryRef {
  /** `proxy_pass_url` or `url`; undefined when it could not be read (see `error`). */
  url?: string;
  error?: string;
}

/**
 * Every server and agent path in the registry, with its address. The paths come from the list
 * routes (`GET /api/servers`, paged on newer registries and whole on v1.0.16; `GET /api/agents`);
 * each address is then read through the reconciler's own client, so discover sees exactly what
 * the reconciler will. The paged list read is the fan-out's (functions/reconciler/registry/list.ts).
 */
export async function listRegistryEntries(
  config: ReconcilerConfig,
  client: RegistryClient,
  ctx: CallContext,
): Promise<ListedEntry[]> {
  const http = new RegistryHttp({
    baseUrl: config.registry.url,
    tokens: createTokenProvider(config.registry.auth, config.registry.timeoutMs),
    timeoutMs: config.registry.timeoutMs,
    maxAttempts: config.registry.maxAttempts,
  });
  const servers = await listPaths(http, 'server', ctx);
  const agents = await listPaths(http, 'agent', ctx);
  const entries: ListedEntry[] = [];
  for (const [kind, paths] of [
    ['server', servers],
    ['agent', agents],
  ] as [TargetKind, string[]][]) {
    for (const path of paths) {
      try {
        const entry = await client.readEntry({ kind, path }, ctx);
        entries.push({ kind, path, url: entry.url });
      } catch (error) {
        entries.push({ kind, path, error: (error as Error).message });
      }
    }
  }
  return entries;
}
