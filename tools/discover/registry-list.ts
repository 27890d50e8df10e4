import type { CallContext, EntryRef, TargetKind } from '../../functions/lib/reconcile/ports';
import type { RegistryClient } from '../../functions/lib/registry/client';
import { LIST_PAGE_SIZE } from '../../functions/lib/registry/list';

/** One registry entry with its address, as discover needs it. */
export interface ListedEntry extends EntryRef {
  /** `proxy_pass_url` or `url`; undefined when it could not be read (see `error`). */
  url?: string;
  error?: string;
  /** A server the registry holds disabled (`is_enabled: false`). */
  disabled?: true;
  /** A server disabled and tagged `security-pending` by the registry's security scan. */
  securityPending?: true;
}

/** Every entry, plus what looked wrong about the registry's lists (an endless list, cut short). */
export interface RegistryListing {
  entries: ListedEntry[];
  /** One sentence per list that looked endless; discover then exits non-zero. */
  warnings: string[];
}

/** The most pages discover reads of one list before it calls the list endless. */
export const MAX_LIST_PAGES = 1_000;

/**
 * Every path of one kind, page by page, stopping with a warning when the list looks endless: a
 * page that repeats an earlier one, more pages than the stated `total_count` allows, or
 * `MAX_LIST_PAGES` pages that all say more follow.
 */
export async function listAllPaths(
  client: RegistryClient,
  kind: TargetKind,
  ctx: CallContext,
  pageSize = LIST_PAGE_SIZE,
  maxPages = MAX_LIST_PAGES,
): Promise<{ paths: string[]; warning?: string }> {
  const pages = client.pages();
  const what = kind === 'server' ? 'servers' : 'agents';
  const paths: string[] = [];
  const seen = new Map<string, number>();
  let offset = 0;
  for (let page = 0; page < maxPages; page++) {
    const { items, more, total } = await pages.page(kind, offset, pageSize, ctx);
    const pagePaths = items.map((i) => i.path as string);
    const key = JSON.stringify(pagePaths);
    const before = seen.get(key);
    if (pagePaths.length > 0 && before !== undefined) {
      return {
        paths,
        warning: `the registry's ${what} list looks endless: the page at offset ${offset} repeats the one at offset ${before} and it still says more follow; stopped after ${page + 1} page reads, the list may be incomplete`,
      };
    }
    seen.set(key, offset);
    for (const path of pagePaths) if (!paths.includes(path)) paths.push(path);
    if (!more || items.length === 0) return { paths };
    offset += items.length;
    if (total !== undefined && offset >= total) {
      return {
        paths,
        warning: `the registry's ${what} list looks endless: it states total_count ${total} but still says more follow after ${offset} item(s) in ${page + 1} page(s); stopped, the list may be incomplete`,
      };
    }
  }
  return {
    paths,
    warning: `the registry's ${what} list looks endless: ${maxPages} pages read and it still says more follow; stopped, the list may be incomplete`,
  };
}

/**
 * Every server and agent path in the registry, with its address. The paths come from the list
 * routes (`GET /api/servers`, paged on newer registries and whole on v1.0.16; `GET /api/agents`);
 * each address is then read through the reconciler's own client, so discover sees exactly what
 * the reconciler will (the list page itself is the fan-out's, functions/lib/registry/list.ts).
 */
export async function listRegistryEntries(
  client: RegistryClient,
  ctx: CallContext,
): Promise<RegistryListing> {
  // The client's own HTTP and token: one Keycloak token for the lists and the reads.
  const servers = await listAllPaths(client, 'server', ctx);
  const agents = await listAllPaths(client, 'agent', ctx);
  const warnings = [servers.warning, agents.warning].filter((w): w is string => w !== undefined);
  const entries: ListedEntry[] = [];
  for (const [kind, paths] of [
    ['server', servers.paths],
    ['agent', agents.paths],
  ] as [TargetKind, string[]][]) {
    for (const path of paths) {
      try {
        const entry = await client.readEntry({ kind, path }, ctx);
        entries.push({
          kind,
          path,
          url: entry.url,
          ...(entry.enabled === false ? { disabled: true as const } : {}),
          ...(entry.securityPending === true ? { securityPending: true as const } : {}),
        });
      } catch (error) {
        entries.push({ kind, path, error: (error as Error).message });
      }
    }
  }
  return { entries, warnings };
}
