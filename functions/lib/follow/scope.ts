import type { ReconcilerConfig } from '../config/config';
import type { EntryRef } from '../reconcile/ports';

/**
 * Whose an entry is by the configuration alone: a configured target's (configured targets always
 * win for their paths), one `follow.exclude` lists, or one follow mode may adopt (whether it does
 * is the matching rule's, match.ts). Shared by the adopter (follower.ts) and the webhook receiver.
 */
export type EntryScope = 'configured' | 'excluded' | 'adoptable';

export function entryScope(
  config: Pick<ReconcilerConfig, 'targets' | 'follow'>,
): (ref: EntryRef) => EntryScope {
  const configured = new Set(config.targets.map((t) => `${t.kind} ${t.path}`));
  const excluded = new Set(config.follow.exclude);
  return (ref) =>
    configured.has(`${ref.kind} ${ref.path}`)
      ? 'configured'
      : excluded.has(ref.path)
        ? 'excluded'
        : 'adoptable';
}
