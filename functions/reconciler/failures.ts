/**
 * Which messages of a FIFO batch go back to the queue. A batch may hold several message groups
 * (one per registry entry). Within a group, order is kept only if a failed message and every later
 * message of the same group go back together; messages of other groups, and earlier messages of
 * the failed group, succeeded and are never handed back (SQS would redeliver them, and work that
 * already landed would run again).
 */
export interface BatchMessage {
  messageId: string;
  groupId: string;
}

export interface BatchItemFailure {
  itemIdentifier: string;
}

/** `failed`: ids of the messages whose work must be retried (or was not started). */
export function groupBatchFailures(
  messages: readonly BatchMessage[],
  failed: ReadonlySet<string>,
): BatchItemFailure[] {
  const broken = new Set<string>();
  const out: BatchItemFailure[] = [];
  for (const m of messages) {
    if (broken.has(m.groupId) || failed.has(m.messageId)) {
      broken.add(m.groupId);
      out.push({ itemIdentifier: m.messageId });
    }
  }
  return out;
}

/** The messages of a batch by group, each group in batch order (the order SQS delivered them). */
export function byGroup<T extends BatchMessage>(messages: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const m of messages) {
    const list = groups.get(m.groupId);
    if (list === undefined) groups.set(m.groupId, [m]);
    else list.push(m);
  }
  return groups;
}
