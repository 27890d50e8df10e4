import type { ReconcilerConfig } from '../../functions/reconciler/config';
import type { CallContext, EntryRef, TargetKind } from '../../functions/reconciler/ports';
import { createTokenProvider, type RegistryClient } from '../../functions/reconciler/registry/client';
import { RegistryHttp, RegistryResponseError } from '../../functions/reconciler/registry/http';

/** One registry entry with its address, as discover needs it. */
export interface ListedEntry extends EntryRef {
  /** `proxy_pass_url` or `url`; undefined when it could not be read (see `error`). */
  url?: string;
  error?: string;
}

const PAGE = 500;
const MAX_PAGES = 1_000;
const LIST: EntryRef = { kind: 'server', path: '(list)' };

/**
 * Every server and agent path in the registry, with its address. The paths come from the list
 * routes (`GET /api/servers`, paged on newer registries and whole on v1.0.16; `GET /api/agents`);
 * each address is then read through the reconciler's own client, so discover sees exactly what
 * the reconciler will. The registry client has no list call of its own: this is the smallest one.
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
  const servers = await listPaths(http, 'servers', ctx);
  const agents = await listPaths(http, 'agents', ctx);
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

async function listPaths(
  http: RegistryHttp,
  what: 'servers' | 'agents',
  ctx: CallContext,
): Promise<string[]> {
  const paths: string[] = [];
  let offset = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const request = {
      method: 'GET',
      path: `/api/${what}?limit=${PAGE}&offset=${offset}`,
      api: 'registry.read',
      entry: LIST,
      action: `list ${what}`,
    } as const;
    const body = (await http.send(request, ctx)).body as Record<string, unknown> | unknown[] | undefined;
    const items = Array.isArray(body) ? body : (body?.[what] as unknown);
    if (!Array.isArray(items)) {
      throw new RegistryResponseError(`GET /api/${what}: the answer has no "${what}" list`);
    }
    for (const item of items) {
      const path = (item as { path?: unknown } | null)?.path;
      if (typeof path === 'string' && !paths.includes(path)) paths.push(path);
    }
    const b = Array.isArray(body) ? {} : (body ?? {});
    const total = typeof b.total_count === 'number' ? b.total_count : undefined;
    const more =
      typeof b.has_next === 'boolean' ? b.has_next : total !== undefined && offset + items.length < total;
    if (!more || items.length === 0) break;
    offset += items.length;
  }
  return paths;
}
