import type { ListedEntry } from '../../functions/reconciler/follow/match';
import type { CallContext, TargetKind } from '../../functions/reconciler/ports';
import type { RegistryClient } from '../../functions/reconciler/registry/client';

export type { ListedEntry } from '../../functions/reconciler/follow/match';

/**
 * Every server and agent path in the registry, with its address. The paths come from the list
 * routes (`GET /api/servers`, paged on newer registries and whole on v1.0.16; `GET /api/agents`);
 * each address is then read through the reconciler's own client, so discover sees exactly what
 * the reconciler will. The paged list read is the fan-out's (functions/reconciler/registry/list.ts).
 */
export async function listRegistryEntries(client: RegistryClient, ctx: CallContext): Promise<ListedEntry[]> {
  // The client's own HTTP and token: one Keycloak token for the lists and the reads.
  const pages = client.pages();
  const servers = await pages.paths('server', ctx);
  const agents = await pages.paths('agent', ctx);
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
