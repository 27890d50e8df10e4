import { createHash } from 'node:crypto';
import type { EntryRef } from '../reconcile/ports';

/**
 * The SQS FIFO message group of one registry entry: every message about the entry shares it, so
 * SQS hands them to one invocation at a time, in order, while other entries' groups proceed in
 * parallel. A MessageGroupId is at most 128 characters of alphanumerics and punctuation; an entry
 * whose key does not fit is named by a hash of it (still one group per entry).
 */
export const MAX_GROUP_ID_LENGTH = 128;

const ALLOWED = /^[\x21-\x7e]+$/;

export function entryGroupId(ref: EntryRef): string {
  const key = `${ref.kind}:${ref.path}`;
  if (key.length <= MAX_GROUP_ID_LENGTH && ALLOWED.test(key)) return key;
  return `${ref.kind}:sha256:${createHash('sha256').update(ref.path).digest('hex')}`;
}

/**
 * The MessageDeduplicationId of one entry's work for one trigger (at most 128 characters): the
 * same trigger sent twice for an entry within SQS's 5-minute window is delivered once.
 */
export function workDedupId(groupId: string, triggerId: string): string {
  const id = `${groupId}|${triggerId}`;
  if (id.length <= MAX_GROUP_ID_LENGTH && ALLOWED.test(id)) return id;
  return createHash('sha256').update(id).digest('hex');
}
