import type { ReconcilerConfig } from '../config/config';
import { describeError } from '../errors';
import { type CallContext, NO_COUNT, type RegistryEntry } from '../reconcile/ports';
import type { Follower, FollowPages } from './follower';
import type { OwnershipPort } from './ownership';
import { ownershipVerdict } from './verdict';

/**
 * What follow mode would do with each registry entry, for `plan` and `discover`, asked of the
 * reconciler's own code: the Follower (configured targets and `follow.exclude` first, then the
 * shared matching rule, match.ts) and the gate's ownership verdict (verdict.ts). Read only: no row
 * is written or released. Not used by the Lambda.
 */

/** What follow mode does with one registry entry. */
export type FollowVerdict =
  /** Named by its Cloud Map service: adopted; its first write records an ownership row. */
  | 'adopt'
  /** Its ownership row says the reconciler wrote its address: kept on a live task. */
  | 'owned'
  /** A configured target names it: the configuration wins (its `cloudMapService`, `port`, `ecsService`). */
  | 'configured'
  /** `follow.exclude` lists its path. */
  | 'excluded'
  /** An IPv4 the reconciler did not write (no ownership row): left alone. */
  | 'not-owned'
  /** A host that names no Cloud Map service of the namespace: left alone. */
  | 'foreign'
  /** Someone changed it since our write: the row would be released and the entry left alone. */
  | 'released'
  /** The shared matching rule's reasons not to adopt a named entry. */
  | 'ambiguous'
  | 'no-ecs-service'
  | 'no-cloud-map-service'
  /** The table holds a row for an entry the registry does not list. */
  | 'entry-missing'
  /** The table or the account could not be read for it: nothing is decided on a guess. */
  | 'error';

/** Every verdict, in the order the summary counts them. */
export const FOLLOW_VERDICTS: readonly FollowVerdict[] = [
  'adopt',
  'owned',
  'configured',
  'excluded',
  'not-owned',
  'foreign',
  'released',
  'ambiguous',
  'no-ecs-service',
  'no-cloud-map-service',
  'entry-missing',
  'error',
];

/** One registry entry (or ownership row) and what follow mode would do with it. */
export interface FollowListingRow {
  kind: RegistryEntry['kind'];
  path: string;
  /** The address as listed; absent for a row whose entry is not listed. */
  url?: string;
  verdict: FollowVerdict;
  cloudMapService?: string;
  ecsService?: string;
  detail: string;
}

/** What the verdict is asked of: the reconciler's own Follower and ownership table. */
export interface FollowVerdictDeps {
  config: ReconcilerConfig;
  follower: Follower;
  ownership: OwnershipPort;
}

export interface FollowListingDeps extends FollowVerdictDeps {
  pages: FollowPages;
}

const PAGE = 500;
/** Entries asked about at once (each may read its ownership row). */
const PARALLEL = 16;

/** `fn` over `items`, at most `PARALLEL` at a time, results in the items' order. */
async function inParallel<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, lane));
  return out;
}

/**
 * Every server and agent the registry lists, then every ownership row whose entry it does not
 * list, each with follow mode's verdict: the configured targets and `follow.exclude` first (as
 * the Follower skips them), then the entry's ownership row through the gate's verdict, else the
 * shared matching rule and, for an entry it does not match by name, the same verdict without a row.
 * A failed read of the registry list throws; a failed read of the table or the account for one
 * entry is that entry's `error`.
 */
export async function followListing(
  deps: FollowListingDeps,
  ctx: CallContext = NO_COUNT,
): Promise<FollowListingRow[]> {
  const rows: FollowListingRow[] = [];
  for (const kind of ['server', 'agent'] as const) {
    for (let offset = 0, more = true; more; ) {
      const page = await deps.pages.listPage(kind, offset, PAGE, ctx);
      rows.push(...(await inParallel(page.entries, (entry) => followVerdictOf(entry, deps, ctx))));
      more = page.more && page.entries.length > 0;
      offset += page.entries.length;
    }
  }
  const listed = new Set(rows.map((r) => `${r.kind} ${r.path}`));
  try {
    for (const row of await deps.ownership.list()) {
      if (listed.has(`${row.kind} ${row.path}`)) continue;
      rows.push({
        kind: row.kind,
        path: row.path,
        verdict: 'entry-missing',
        cloudMapService: row.cloudMapService,
        ecsService: row.ecsService,
        detail: `the ownership table holds a row (we wrote ${row.writtenUrl}) but the registry lists no such entry`,
      });
    }
  } catch (error) {
    rows.push({ kind: 'server', path: '(ownership table)', verdict: 'error', detail: describeError(error) });
  }
  return rows;
}

/**
 * Follow mode's verdict on one entry as read: the reconciler's own questions, in its order. Never
 * throws: a table or account that cannot be read makes the verdict `error`.
 */
export async function followVerdictOf(
  entry: RegistryEntry,
  deps: FollowVerdictDeps,
  ctx: CallContext,
): Promise<FollowListingRow> {
  const base = { kind: entry.kind, path: entry.path, url: entry.url };
  const configured = deps.config.targets.find((t) => t.kind === entry.kind && t.path === entry.path);
  if (configured !== undefined)
    return {
      ...base,
      verdict: 'configured',
      cloudMapService: configured.cloudMapService,
      ...(configured.ecsService === undefined ? {} : { ecsService: configured.ecsService }),
      detail: `a configured target wins for its path (Cloud Map ${configured.cloudMapService}, port ${configured.port ?? 'url'})`,
    };
  if (!deps.follower.mayAdopt(entry))
    return { ...base, verdict: 'excluded', detail: `follow.exclude lists ${entry.path}` };
  try {
    const row = await deps.ownership.get(entry);
    if (row !== undefined) {
      // The gate's own question (follow/gate.ts): the row's service, the entry as read.
      const v = ownershipVerdict({
        currentUrl: entry.url,
        cloudMapService: row.cloudMapService,
        namespace: deps.config.namespace,
        row,
      });
      return {
        ...base,
        verdict: v.verdict,
        cloudMapService: row.cloudMapService,
        ecsService: row.ecsService,
        detail: v.verdict === 'released' ? `${v.detail} by the next resync (not by this listing)` : v.detail,
      };
    }
    const m = await deps.follower.match(entry, ctx);
    const found = {
      ...(m.cloudMapService === undefined ? {} : { cloudMapService: m.cloudMapService }),
      ...(m.ecsService === undefined ? {} : { ecsService: m.ecsService }),
    };
    if (m.status === 'ambiguous' || m.status === 'no-ecs-service' || m.status === 'no-cloud-map-service')
      return { ...base, ...found, verdict: m.status, detail: m.detail };
    if (m.status === 'unreadable') return { ...base, verdict: 'error', detail: m.detail };
    const v = ownershipVerdict({
      currentUrl: entry.url,
      cloudMapService: m.cloudMapService ?? '',
      namespace: deps.config.namespace,
      row: undefined,
    });
    if (m.status === 'matched' && v.verdict === 'adopt')
      return { ...base, ...found, verdict: 'adopt', detail: m.detail };
    // Without a row the verdict is `not-owned` (an IPv4) or `foreign`; the rule words the latter.
    const verdict = v.verdict === 'not-owned' ? 'not-owned' : 'foreign';
    return { ...base, verdict, detail: verdict === 'not-owned' ? v.detail : m.detail };
  } catch (error) {
    return { ...base, verdict: 'error', detail: describeError(error) };
  }
}
