import { parseConfig, type ReconcilerConfig } from '../../functions/lib/config/config';
import { Follower, wholeWorld } from '../../functions/lib/follow/follower';
import { type FollowListingRow, followVerdictOf } from '../../functions/lib/follow/listing';
import type { DiscoverWorld } from '../../functions/lib/follow/match';
import { MemoryOwnership } from '../../functions/lib/follow/ownership';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import type { ListedEntry } from './registry-list';

/**
 * `discover --follow`: the shortest working follow-mode configuration, and what follow mode would
 * do with each registry entry, asked of the reconciler's own code (follow/listing.ts) as `plan`
 * asks it, before any write: no ownership table is read (none may exist yet), so no entry is
 * `owned` or `released` here; `plan` reads the table.
 */

/** The table a configuration document names when the partial one names none (create it, or use the stack's). */
export const DEFAULT_OWNERSHIP_TABLE = 'registry-reconciler-ownership';

/**
 * The follow configuration: the partial one as given (cluster, namespace, registry, …) without
 * `targets`, with `follow.enabled` (keeping a given `follow.exclude`) and `ownership.table` (the
 * partial's, else `DEFAULT_OWNERSHIP_TABLE`, named in `notes`).
 */
export function followDocument(partial: Record<string, unknown>): {
  document: Record<string, unknown>;
  notes: string[];
} {
  const { targets: _targets, follow, ownership, ...rest } = partial;
  const exclude = (follow as { exclude?: unknown } | undefined)?.exclude;
  const notes: string[] = [];
  if (ownership === undefined)
    notes.push(
      `ownership.table: ${DEFAULT_OWNERSHIP_TABLE} is a name to replace with your table's: the deployed stack's ` +
        "(the construct creates it; leave ownership out of the parameters file), or for local runs any table with the key 'entry' and the index 'byEcsService' on 'ecsService'",
    );
  return {
    document: {
      ...rest,
      follow: { enabled: true, ...(exclude === undefined ? {} : { exclude }) },
      ownership: ownership ?? { table: DEFAULT_OWNERSHIP_TABLE },
    },
    notes,
  };
}

/**
 * The parameters file in follow mode: the targets' parameters document without `targets`, with
 * `follow.enabled` and no `ownership` (the construct creates the table and names it).
 */
export function followParams(
  params: Record<string, unknown>,
  partial: Record<string, unknown>,
): Record<string, unknown> {
  const { targets: _targets, ownership: _ownership, ...rest } = params;
  const exclude = (partial.follow as { exclude?: unknown } | undefined)?.exclude;
  return { ...rest, follow: { enabled: true, ...(exclude === undefined ? {} : { exclude }) } };
}

/**
 * What follow mode would do with each listed entry, by the reconciler's Follower over the world
 * discover read, by name only (as follow mode reads the world: no instance IPv4s), and an empty
 * ownership table.
 */
export async function followVerdicts(
  config: ReconcilerConfig,
  world: DiscoverWorld,
  entries: ListedEntry[],
): Promise<FollowListingRow[]> {
  const byName: DiscoverWorld = {
    ...world,
    cloudMapServices: world.cloudMapServices.map((s) => ({ ...s, ipv4s: [] })),
  };
  const ownership = new MemoryOwnership(config.ownership?.table ?? DEFAULT_OWNERSHIP_TABLE);
  const follower = new Follower({
    config,
    ownership,
    world: wholeWorld(async () => byName),
    now: Date.now,
    ttlMs: Number.POSITIVE_INFINITY,
  });
  const rows: FollowListingRow[] = [];
  for (const e of entries) {
    if (e.url === undefined) {
      rows.push({ kind: e.kind, path: e.path, verdict: 'error', detail: e.error ?? 'no address' });
      continue;
    }
    const entry = { kind: e.kind, path: e.path, url: e.url, record: {} };
    rows.push(await followVerdictOf(entry, { config, follower, ownership }, NO_COUNT));
  }
  return rows;
}

/** The follow document, checked by the reconciler's own parser (throws naming the field). */
export function parseFollowDocument(document: Record<string, unknown>): ReconcilerConfig {
  return parseConfig(document, 'the discovered follow configuration');
}
