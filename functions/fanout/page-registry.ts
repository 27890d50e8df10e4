import { EntryNotFoundError } from '../lib/errors';
import type { EntryRef, RegistryEntry, RegistryPort, WriteResult } from '../lib/reconcile/ports';

/**
 * The registry as one shard's read-only check sees it: the page read once for the whole shard.
 * It never writes (the check runs in dry run; a write here would be a bug, so it throws).
 */
export class PageRegistry implements RegistryPort {
  page = new Map<string, RegistryEntry>();

  load(entries: readonly RegistryEntry[]): void {
    this.page = new Map(entries.map((e) => [`${e.kind}:${e.path}`, e]));
  }

  async readEntry(ref: EntryRef): Promise<RegistryEntry> {
    const e = this.page.get(`${ref.kind}:${ref.path}`);
    if (e === undefined) throw new EntryNotFoundError(ref.kind, ref.path);
    return e;
  }

  writeUrl(): Promise<WriteResult> {
    return Promise.reject(new Error('a resync shard check never writes'));
  }
}
