import type { CallContext, RegistryEntry, TargetKind, WriteVerification } from '../lib/reconcile/ports';

/** One page of a registry list: its entries with their addresses, and whether more pages follow. */
export interface RegistryPage {
  entries: RegistryEntry[];
  more: boolean;
}

/** The paged list read (functions/lib/registry/list.ts). */
export interface RegistryPages {
  listPage(kind: TargetKind, offset: number, limit: number, ctx: CallContext): Promise<RegistryPage>;
}

/** The read that checks a write after the registry's background scan (RegistryClient.verifyWrite). */
export interface WriteVerifier {
  verifyWrite(
    ref: { kind: TargetKind; path: string },
    written: string,
    ctx: CallContext,
  ): Promise<WriteVerification>;
}
