import type { CallContext, RegistryEntry, TargetKind, WriteVerification } from '../lib/reconcile/ports';

/** A message for the FIFO work queue: one registry entry's group. */
export interface WorkMessage {
  groupId: string;
  dedupId: string;
  body: string;
}

/** A message for the trigger queue, delayed (0–900 s). */
export interface TriggerOut {
  body: string;
  delaySeconds: number;
}

/** The two queues the fan-out sends to. Each call resolves only when every message was accepted. */
export interface FanoutQueues {
  sendWork(messages: WorkMessage[]): Promise<void>;
  sendTriggers(messages: TriggerOut[]): Promise<void>;
}

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
