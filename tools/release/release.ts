import { describeError, EntryNotFoundError } from '../../functions/lib/errors';
import type { OwnerRow, OwnershipPort } from '../../functions/lib/follow/ownership';
import type { CallContext, RegistryPort } from '../../functions/lib/reconcile/ports';
import { hostOf } from '../../functions/lib/url';

/** What release did with one owned entry. */
export type ReleaseStatus =
  /** Written back to the address it was registered with; row deleted. */
  | 'restored'
  /** Changed by someone since our write: left as it is; row deleted. */
  | 'released-changed'
  /** The registry has no such entry any more: row deleted. */
  | 'released-missing'
  /** Dry run: what would be done. */
  | 'would-restore'
  | 'would-release'
  /** Asked for by --path, but the table holds no row for it. */
  | 'not-owned'
  /** A read, a write or the row's deletion failed: nothing more was done. */
  | 'failed';

export interface ReleaseResult {
  kind: string;
  path: string;
  status: ReleaseStatus;
  /** The address the entry holds now (after the write, when there was one). */
  url?: string;
  registeredUrl?: string;
  detail: string;
}

export interface ReleaseDeps {
  ownership: OwnershipPort;
  registry: RegistryPort;
  namespace: string;
  ctx: CallContext;
}

/**
 * Hands every owned entry (or the given paths) back: an entry that still holds the address we
 * wrote gets the address it was registered with (a compare-and-swap write, as every write) and
 * its row is deleted; an entry changed since is only released. Never throws for one entry.
 */
export async function release(
  deps: ReleaseDeps,
  options: { paths?: string[]; dryRun: boolean },
): Promise<ReleaseResult[]> {
  const rows = await deps.ownership.list();
  const results: ReleaseResult[] = [];
  const chosen =
    options.paths === undefined || options.paths.length === 0
      ? rows
      : rows.filter((r) => options.paths?.includes(r.path));
  for (const path of options.paths ?? []) {
    if (!rows.some((r) => r.path === path))
      results.push({
        kind: '-',
        path,
        status: 'not-owned',
        detail: `the ownership table has no row for ${path}`,
      });
  }
  for (const row of chosen) results.push(await releaseOne(row, deps, options.dryRun));
  return results;
}

async function releaseOne(row: OwnerRow, deps: ReleaseDeps, dryRun: boolean): Promise<ReleaseResult> {
  const base = { kind: row.kind, path: row.path, registeredUrl: row.registeredUrl };
  const ours = (url: string) => url === row.writtenUrl || url === row.previousUrl;
  let url: string | undefined;
  try {
    let entry: Awaited<ReturnType<RegistryPort['readEntry']>> | undefined;
    try {
      entry = await deps.registry.readEntry(row, deps.ctx);
    } catch (error) {
      if (!(error instanceof EntryNotFoundError)) throw error;
    }
    url = entry?.url;
    if (entry === undefined || !ours(entry.url)) {
      const why =
        entry === undefined
          ? 'the registry has no such entry any more'
          : `changed since our write (we wrote ${row.writtenUrl}): left as it is`;
      if (dryRun)
        return { ...base, ...(url === undefined ? {} : { url }), status: 'would-release', detail: why };
      await deleteRow(row, deps);
      return {
        ...base,
        ...(url === undefined ? {} : { url }),
        status: entry === undefined ? 'released-missing' : 'released-changed',
        detail: `${why}; ownership released`,
      };
    }
    if (dryRun)
      return { ...base, url, status: 'would-restore', detail: `would write back ${row.registeredUrl}` };
    let changed = false;
    const result = await deps.registry.writeUrl(entry, row.registeredUrl, deps.ctx, {
      // A 412: someone wrote after our read. Write back only while it is still our address.
      redecide: (current) => {
        if (ours(current.url)) return row.registeredUrl;
        changed = true;
        url = current.url;
        return undefined;
      },
      hostForms: {
        entryHost: hostOf(entry.url) ?? '',
        cloudMapService: row.cloudMapService,
        namespace: deps.namespace,
      },
    });
    if (result.superseded === true || changed) {
      await deleteRow(row, deps);
      return {
        ...base,
        ...(url === undefined ? {} : { url }),
        status: 'released-changed',
        detail: 'changed during the release (someone wrote it): left as it is; ownership released',
      };
    }
    url = result.url;
    if (!result.confirmed)
      return {
        ...base,
        url,
        status: 'failed',
        detail: `wrote ${row.registeredUrl} but read back ${result.url}; row kept`,
      };
    await deleteRow(row, deps);
    return {
      ...base,
      url,
      status: 'restored',
      detail: `written back to ${row.registeredUrl}; ownership released`,
    };
  } catch (error) {
    return { ...base, ...(url === undefined ? {} : { url }), status: 'failed', detail: describeError(error) };
  }
}

async function deleteRow(row: OwnerRow, deps: ReleaseDeps): Promise<void> {
  if (!(await deps.ownership.release(row, row.version)))
    throw new Error(
      `ownership table ${deps.ownership.table}: the row of ${row.path} changed during the release (is the reconciler still running?)`,
    );
}

/** A fixed-width table, one line per entry. */
export function releaseTable(results: ReleaseResult[]): string {
  const rows = [
    ['KIND', 'PATH', 'STATUS', 'NOW', 'DETAIL'],
    ...results.map((r) => [r.kind, r.path, r.status, r.url ?? '-', r.detail]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c)).join('  ')).join('\n');
}

/** Whether a result is what was asked (exit 0 only when every one is). */
export function isDone(r: ReleaseResult): boolean {
  return r.status !== 'failed' && r.status !== 'not-owned';
}
