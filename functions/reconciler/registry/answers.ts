/** How the client reads the registry's answers and records: which generation, which field, which detail. */
import { isDeepStrictEqual } from 'node:util';
import type { EntryRef, RegistryEntry, WriteResult } from '../ports';
import type { RegistryResponse } from './http';
import { type ClientState, SECURITY_PENDING_TAG } from './state';

/** A 1.2x record (DocumentDB): it carries `id` and `updated_at`, which v1.0.16's reads never show. */
export function isCurrentGeneration(record: Record<string, unknown>): boolean {
  return typeof record.updated_at === 'string' || typeof record.id === 'string';
}

/** Which agent field holds the backend address: `proxy_pass_url` in A2A reverse-proxy mode, else `url`. */
export function agentBackendField(record: Record<string, unknown>): 'url' | 'proxy_pass_url' {
  return typeof record.proxy_pass_url === 'string' && record.proxy_pass_url !== '' ? 'proxy_pass_url' : 'url';
}

/** A record the registry's security scan disabled: `is_enabled` false and tagged `security-pending`. */
export function isSecurityPending(record: Record<string, unknown>): boolean {
  return (
    record.is_enabled === false && Array.isArray(record.tags) && record.tags.includes(SECURITY_PENDING_TAG)
  );
}

/**
 * Whether a list answer says more pages follow: its `has_next`, else its `total_count` against
 * what the pages so far held. v1.0.16 ignores limit/offset and sends neither: no more pages.
 */
export function hasNextPage(body: Record<string, unknown>, offset: number, count: number): boolean {
  if (typeof body.has_next === 'boolean') return body.has_next;
  return typeof body.total_count === 'number' && offset + count < body.total_count;
}

/** FastAPI's own 404/405 for a path no route matches (`{"detail":"Not Found"}`), not an entry's absence. */
export function isRouteMissing(response: RegistryResponse): boolean {
  return detailText(response) === 'Not Found';
}

/** The answer's `detail` (cut short), or its status. */
export function detailText(response: RegistryResponse): string {
  const detail = (response.body as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' ? detail.slice(0, 200) : `HTTP ${response.status}`;
}

/** Field names whose values differ between two records, ignoring `ignore`. */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  ignore: ReadonlySet<string> = new Set(),
): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names]
    .filter((name) => !ignore.has(name) && !isDeepStrictEqual(before[name], after[name]))
    .sort();
}

/** `/currenttime/` → `/currenttime/`, each segment percent-encoded, slashes (and the trailing one) kept. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function sameButTrailingSlash(a: string, b: string): boolean {
  return a !== b && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

export function warnNearMiss(state: ClientState, ref: EntryRef, stored: string): void {
  // Writing to the other spelling fails with a 500 in the registry: the target's path must change.
  state.logger.warn('registry has the entry under a path that differs only in the trailing slash', {
    kind: ref.kind,
    path: ref.path,
    registryPath: stored,
  });
}

/** The result of a write that did not happen: the entry already has the address. */
export function unchanged(entry: RegistryEntry): WriteResult {
  return {
    url: entry.url,
    confirmed: true,
    disabledAfterWrite: false,
    reenabled: false,
    route: 'none',
    resets: [],
  };
}
