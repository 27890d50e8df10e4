/** Reading a server: the single-record route where the registry has it, else the (paged) list. */
import { EntryNotFoundError } from '../errors';
import type { CallContext, EntryRef, RegistryEntry } from '../ports';
import { encodePath, hasNextPage, isSecurityPending, sameButTrailingSlash, warnNearMiss } from './answers';
import { weakEtagOf } from './etag';
import { describeRequest, RegistryResponseError } from './http';
import { asRecord } from './json';
import type { ClientState, ReadPhase } from './state';

/** A registry that keeps saying "more" past this many pages is broken; stop instead of looping. */
const MAX_PAGES = 10_000;

/** Reads one server. Throws `EntryNotFoundError` when the registry has none at the exact path. */
export async function readServer(
  state: ClientState,
  ref: EntryRef,
  ctx: CallContext,
  phase: ReadPhase,
): Promise<RegistryEntry> {
  const { routes } = state;
  if (routes.singleRoute !== 'absent') {
    const response = await state.http.send(
      {
        method: 'GET',
        path: `/api/servers${encodePath(ref.path)}`,
        entry: ref,
        ...phase,
        accept: [404, 405],
      },
      ctx,
    );
    const record = response.status === 200 ? asRecord(response.body) : undefined;
    // A record for another path (the registry also matches without/with the trailing slash) or
    // without proxy_pass_url (shown to admins only) is no use: the list decides.
    if (record?.path === ref.path && typeof record.proxy_pass_url === 'string') {
      routes.singleRoute = 'present';
      return serverEntry(ref, record);
    }
    if (state.options.api === '1.29' && response.status === 200 && record?.path === ref.path) {
      return serverEntry(ref, record);
    }
  }
  const found = await scanServerList(state, ref, ctx, phase);
  if (found === undefined) throw new EntryNotFoundError('server', ref.path);
  if (routes.singleRoute === 'unknown') {
    routes.singleRoute = 'absent';
    state.logger.info('registry has no single-server route; reading servers from the list from now on');
  }
  return found;
}

/** Walks `GET /api/servers` page by page until the exact path turns up or the pages run out. */
export async function scanServerList(
  state: ClientState,
  ref: EntryRef,
  ctx: CallContext,
  phase: ReadPhase,
  extraQuery = '',
): Promise<RegistryEntry | undefined> {
  let offset = 0;
  let total: number | undefined;
  let restarted = false;
  let nearMiss: string | undefined;
  for (let page = 1; ; page++) {
    const request = {
      method: 'GET',
      path: `/api/servers?limit=${state.pageSize}&offset=${offset}${extraQuery}`,
      entry: ref,
      ...phase,
    } as const;
    if (page > MAX_PAGES) {
      throw new RegistryResponseError(`${describeRequest(request)}: still more pages after ${MAX_PAGES}`);
    }
    const body = asRecord((await state.http.send(request, ctx)).body);
    const servers = body?.servers;
    if (body === undefined || !Array.isArray(servers)) {
      throw new RegistryResponseError(`${describeRequest(request)}: the answer has no "servers" list`);
    }
    for (const item of servers) {
      const record = asRecord(item);
      if (record?.path === ref.path) return serverEntry(ref, record);
      if (typeof record?.path === 'string' && sameButTrailingSlash(record.path, ref.path))
        nearMiss = record.path;
    }
    const totalCount = typeof body.total_count === 'number' ? body.total_count : undefined;
    if (totalCount !== undefined && total !== undefined && totalCount !== total && !restarted) {
      // Servers were added or removed while paging, so the pages shifted: look once more from the start.
      restarted = true;
      offset = 0;
      total = undefined;
      continue;
    }
    total = totalCount;
    if (!hasNextPage(body, offset, servers.length) || servers.length === 0) break;
    offset += servers.length;
  }
  if (nearMiss !== undefined) warnNearMiss(state, ref, nearMiss);
  return undefined;
}

function serverEntry(ref: EntryRef, record: Record<string, unknown>): RegistryEntry {
  const url = record.proxy_pass_url;
  if (typeof url !== 'string' || url === '') {
    // A non-admin token sees no proxy_pass_url: the M2M client must be in registry-admins.
    throw new RegistryResponseError(
      `registry shows no proxy_pass_url for server ${ref.path}: the token needs registry admin rights`,
    );
  }
  const enabled = typeof record.is_enabled === 'boolean' ? record.is_enabled : undefined;
  const etag = weakEtagOf(record);
  return {
    kind: 'server',
    path: ref.path,
    url,
    ...(enabled === undefined ? {} : { enabled }),
    record,
    securityPending: isSecurityPending(record),
    ...(etag === undefined ? {} : { etag }),
  };
}
