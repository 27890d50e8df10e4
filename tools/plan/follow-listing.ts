import { createFollowAws } from '../../functions/lib/aws/follow';
import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { describeError } from '../../functions/lib/errors';
import { FOLLOW_VERDICTS, type FollowListingRow, followListing } from '../../functions/lib/follow/listing';
import { createRegistryClient } from '../../functions/lib/registry/client';

export { FOLLOW_VERDICTS, type FollowListingRow, followListing };

/**
 * Follow mode in `plan`: what the reconciler would do with every entry of the registry
 * (functions/lib/follow/listing.ts, the reconciler's own Follower and ownership verdict),
 * as a table, JSON lines and a summary. Read only: no row is written or released.
 */

/** The text table: one line per entry, what follow mode would do and why. */
export function followTable(rows: FollowListingRow[]): string {
  const cells = rows.map((r) => [r.verdict, `${r.kind} ${r.path}`, r.url ?? '(not listed)', r.detail]);
  const head = ['follow', 'entry', 'address', 'why'];
  const widths = head.map((h, i) =>
    Math.min(48, Math.max(h.length, ...cells.map((c) => (c[i] as string).length))),
  );
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [
    'Follow mode: what it would do with each registry entry (adopt, owned: kept by the reconciler; the rest left alone)',
    line(head),
    ...cells.map(line),
  ].join('\n');
}

/** `follow: 6 registry entries: adopt 1, owned 0, configured 1, …; plan only, no ownership row recorded or released` */
export function followSummary(
  rows: FollowListingRow[],
  tail = 'plan only, no ownership row recorded or released',
): string {
  const counts = FOLLOW_VERDICTS.map((v) => [v, rows.filter((r) => r.verdict === v).length] as const)
    .filter(([v, n]) => n > 0 || v === 'adopt' || v === 'owned')
    .map(([v, n]) => `${v} ${n}`);
  return `follow: ${rows.length} registry entr${rows.length === 1 ? 'y' : 'ies'}: ${counts.join(', ')}; ${tail}`;
}

/** Follow mode's part of `plan`, or undefined when follow mode is off. */
export interface PlanFollow {
  /** The lines for the output: the table, or with `--json` one `{"follow": …}` line per entry. */
  lines(json: boolean): string[];
  /** The summary line for stderr. */
  summary: string;
  /** Whether an entry could not be decided (plan exits 1). */
  failed: boolean;
}

/**
 * Follow mode's listing for `plan` with the configuration's registry and AWS (the ownership table
 * and the account, read as the reconciler reads them); undefined when `follow.enabled` is false.
 * A registry list that cannot be read is the listing's one `error` line.
 */
export async function planFollow(config: ReconcilerConfig): Promise<PlanFollow | undefined> {
  const aws = createFollowAws(config, { maxAttempts: 2 });
  if (aws === undefined) return undefined;
  const pages = createRegistryClient(config.registry).pages();
  let rows: FollowListingRow[];
  try {
    rows = await followListing({ config, ...aws, pages });
  } catch (error) {
    rows = [
      {
        kind: 'server',
        path: '(registry list)',
        verdict: 'error',
        detail: `cannot list the registry at ${config.registry.url}: ${describeError(error)}`,
      },
    ];
  }
  return {
    lines: (json) => (json ? rows.map((r) => JSON.stringify({ follow: r })) : [followTable(rows)]),
    summary: followSummary(rows),
    failed: rows.some((r) => r.verdict === 'error'),
  };
}
