/**
 * The paged list reads: the fan-out's resync shards (`RegistryPageReader`, one page each) and
 * tools/discover (every path of a kind).
 */
import type { CallContext, EntryRef, RegistryEntry, TargetKind } from '../reconcile/ports';
import { agentBackendField } from './agents';
import { asRecord, hasNextPage, type RegistryHttp, RegistryResponseError } from './http';
import { isSecurityPending } from './servers';

/** The largest page the fan-out asks for; v1.0.16 ignores paging and returns the whole list. */
export const LIST_PAGE_SIZE = 500;

const LIST: EntryRef = { kind: 'server', path: '(list)' };

export interface ListedPage {
  /** Each item with a path, as the registry listed it. */
  items: Record<string, unknown>[];
  /** Whether the registry says more pages follow. */
  more: boolean;
  /** The list's length as the registry states it (`total_count`), when it does. */
  total?: number;
}

/**
 * One page of a registry list (`GET /api/servers?limit=…&offset=…&include_tools=false`, agents
 * likewise). A registry without paging (v1.0.16) answers with the whole list: the page is then
 * cut from it here, so the caller sees the same page either way.
 */
export async function listPage(
  http: RegistryHttp,
  kind: TargetKind,
  offset: number,
  limit: number,
  ctx: CallContext,
): Promise<ListedPage> {
  const what = kind === 'server' ? 'servers' : 'agents';
  const request = {
    method: 'GET',
    path: `/api/${what}?limit=${limit}&offset=${offset}${kind === 'server' ? '&include_tools=false' : ''}`,
    api: 'registry.read',
    entry: LIST,
    action: `list ${what}`,
  } as const;
  const body = (await http.send(request, ctx)).body as Record<string, unknown> | unknown[] | undefined;
  const raw = Array.isArray(body) ? body : (body?.[what] as unknown);
  if (!Array.isArray(raw))
    throw new RegistryResponseError(`GET /api/${what}: the answer has no "${what}" list`);
  const b = Array.isArray(body) ? {} : (body ?? {});
  const total = typeof b.total_count === 'number' ? b.total_count : undefined;
  const paged = typeof b.has_next === 'boolean' || total !== undefined;
  const items = raw.filter((i): i is Record<string, unknown> => typeof asRecord(i)?.path === 'string');
  // Unpaged: the whole list came; keep the page asked for.
  if (!paged) return { items: items.slice(offset, offset + limit), more: offset + limit < items.length };
  return { items, more: hasNextPage(b, offset, raw.length), ...(total === undefined ? {} : { total }) };
}

/**
 * A listed item as a registry entry (its address, enabled state and `security-pending` tag).
 * An agent in the A2A reverse-proxy mode carries its own `proxy_pass_url`: that is its backend.
 * Items without an address (a non-admin view) are left out.
 */
export function listedEntry(kind: TargetKind, item: Record<string, unknown>): RegistryEntry | undefined {
  const path = item.path as string;
  const url = item[kind === 'server' ? 'proxy_pass_url' : agentBackendField(item)];
  if (typeof url !== 'string' || url === '') return undefined;
  const enabled = typeof item.is_enabled === 'boolean' ? item.is_enabled : undefined;
  return {
    kind,
    path,
    url,
    ...(enabled === undefined ? {} : { enabled }),
    record: item,
    ...(kind === 'server' ? { securityPending: isSecurityPending(item) } : {}),
  };
}

/** Every path of one kind, page by page (tools/discover). */
export async function listPaths(
  http: RegistryHttp,
  kind: TargetKind,
  ctx: CallContext,
  pageSize = LIST_PAGE_SIZE,
  maxPages = 1_000,
): Promise<string[]> {
  const paths: string[] = [];
  let offset = 0;
  for (let page = 0; page < maxPages; page++) {
    const { items, more } = await listPage(http, kind, offset, pageSize, ctx);
    for (const item of items) {
      const path = item.path as string;
      if (!paths.includes(path)) paths.push(path);
    }
    if (!more || items.length === 0) break;
    offset += items.length;
  }
  return paths;
}

/** The fan-out's page reader: one list read per page, items as entries. */
export class RegistryPageReader {
  constructor(private readonly http: RegistryHttp) {}

  async listPage(
    kind: TargetKind,
    offset: number,
    limit: number,
    ctx: CallContext,
  ): Promise<{ entries: RegistryEntry[]; more: boolean }> {
    const { items, more } = await listPage(this.http, kind, offset, limit, ctx);
    const entries = items.flatMap((i) => {
      const e = listedEntry(kind, i);
      return e === undefined ? [] : [e];
    });
    return { entries, more };
  }

  /** One page as listed, every item with a path (tools/discover). */
  page(kind: TargetKind, offset: number, limit: number, ctx: CallContext): Promise<ListedPage> {
    return listPage(this.http, kind, offset, limit, ctx);
  }

  /** Every path of one kind (tools/discover). */
  paths(kind: TargetKind, ctx: CallContext): Promise<string[]> {
    return listPaths(this.http, kind, ctx);
  }
}
