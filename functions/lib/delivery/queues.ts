/**
 * The messages the fan-out and the webhook receiver send, and the two queues they send them to
 * (the FIFO work queue, one group per registry entry; the trigger queue, delayed).
 */

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

/** The two queues the fan-out and the webhook receiver send to. Each call resolves only when every message was accepted. */
export interface FanoutQueues {
  sendWork(messages: WorkMessage[]): Promise<void>;
  sendTriggers(messages: TriggerOut[]): Promise<void>;
}
