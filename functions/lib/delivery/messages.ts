import type { EntryRef } from '../reconcile/ports';
import { DELIVERY } from './settings';

/**
 * The fan-out's own messages on the trigger queue (beside the EventBridge events it receives):
 * - `sweep`: follow mode's names sweep, put there by its own schedule rule (the construct's
 *   input transformer writes `{"sweep": {"id": <event id>, "time": <event time>}}`, `sweepBody`):
 *   the fan-out turns it into `names` shards;
 * - `shard`: one registry page to check, sent delayed by the schedule (`mode: 'full'`, a read-only
 *   check of the page's entries), by a registry task's start (`mode: 'registry'`, pages only:
 *   an entry whose host is not an IP address gets work) or by the names sweep (`mode: 'names'`,
 *   pages only: an entry that holds a Cloud Map name the reconciler may resolve gets work);
 * - `verify`: a write to check again once the registry's background scan has run, sent by the
 *   reconciler after a confirmed write, and once more by the fan-out when that check came before
 *   the scan surely ended (fanout/verify-chain.ts); `at` stays the write's time.
 * A body is JSON with exactly one of these keys; anything else is an EventBridge event.
 */
export interface ShardMessage {
  kind: 'server' | 'agent';
  offset: number;
  limit: number;
  /** The resync (or re-check) this shard belongs to: the dedup id of the work it sends. */
  resync: string;
  time: string;
  mode: 'full' | 'registry' | 'names';
}

/** A names sweep (follow mode): the schedule event's id and time. */
export interface SweepMessage {
  id: string;
  time: string;
}

export interface VerifyMessage extends EntryRef {
  /** The address the reconciler wrote. */
  written: string;
  /** The address the entry had before that write: a late scan that saves its old capture puts it back. */
  previous?: string;
  /** The work message's event id, for the record. */
  eventId: string;
  /** When the write was confirmed (ISO). */
  at: string;
}

export type TriggerMessage =
  | { type: 'sweep'; sweep: SweepMessage }
  | { type: 'shard'; shard: ShardMessage }
  | { type: 'verify'; verify: VerifyMessage }
  | { type: 'event'; body: string };

export function shardBody(shard: ShardMessage): string {
  return JSON.stringify({ shard });
}

export function verifyBody(verify: VerifyMessage): string {
  return JSON.stringify({ verify });
}

/** The body the names sweep's schedule rule puts on the trigger queue (what its input transformer writes). */
export function sweepBody(sweep: SweepMessage): string {
  return JSON.stringify({ sweep });
}

/** A body EventBridge's input transformer wrote: JSON, whitespace as its template has it. */
const SWEEP_BODY = /^\s*\{\s*"sweep"\s*:/;

/** Tells the fan-out's own messages from EventBridge events; a malformed one of ours throws. */
export function readTriggerMessage(body: string): TriggerMessage {
  const sweep = SWEEP_BODY.test(body);
  if (!sweep && !body.startsWith('{"shard"') && !body.startsWith('{"verify"')) return { type: 'event', body };
  const parsed = JSON.parse(body) as { shard?: unknown; verify?: unknown; sweep?: unknown };
  if (sweep && isSweep(parsed.sweep)) return { type: 'sweep', sweep: parsed.sweep };
  if (isShard(parsed.shard)) return { type: 'shard', shard: parsed.shard };
  if (isVerify(parsed.verify)) return { type: 'verify', verify: parsed.verify };
  throw new Error(`trigger message is neither a valid sweep, shard nor verify: ${body.slice(0, 200)}`);
}

function isSweep(v: unknown): v is SweepMessage {
  const s = v as Partial<SweepMessage> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.id === 'string' &&
    s.id !== '' &&
    typeof s.time === 'string'
  );
}

function isShard(v: unknown): v is ShardMessage {
  const s = v as Partial<ShardMessage> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    (s.kind === 'server' || s.kind === 'agent') &&
    Number.isInteger(s.offset) &&
    Number.isInteger(s.limit) &&
    typeof s.resync === 'string' &&
    typeof s.time === 'string' &&
    (s.mode === 'full' || s.mode === 'registry' || s.mode === 'names')
  );
}

function isVerify(v: unknown): v is VerifyMessage {
  const s = v as Partial<VerifyMessage> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    (s.kind === 'server' || s.kind === 'agent') &&
    typeof s.path === 'string' &&
    typeof s.written === 'string' &&
    (s.previous === undefined || typeof s.previous === 'string') &&
    typeof s.eventId === 'string' &&
    typeof s.at === 'string'
  );
}

/** DelaySeconds of the write verification: the configured settle delay, within SQS's 900 s. */
export function verifyDelaySeconds(verifyAfterMs: number): number {
  return Math.min(DELIVERY.maxDelaySeconds, Math.max(0, Math.ceil(verifyAfterMs / 1000)));
}
