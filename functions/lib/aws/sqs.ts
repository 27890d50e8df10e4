import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * The SQS calls of the per-entry delivery: batches of up to 10 messages (a batch's failed entries
 * are sent once more; any still refused fail the call, so the trigger comes back and nothing is
 * lost), and the visibility of one received message.
 */
export interface SqsSend {
  /** `groupId`/`dedupId` for a FIFO queue; `delaySeconds` for a standard one. */
  send(
    queueUrl: string,
    messages: readonly { body: string; groupId?: string; dedupId?: string; delaySeconds?: number }[],
  ): Promise<void>;
  changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<void>;
}

export class SqsAdapter implements SqsSend {
  private built: SQSClient | undefined;

  /**
   * The default client is built on the first call, not at cold start: most reconciler deliveries
   * write nothing and hand nothing back, and building an SDK client costs a few ms of init.
   */
  constructor(private readonly given?: SQSClient) {}

  private get client(): SQSClient {
    this.built ??= this.given ?? new SQSClient({});
    return this.built;
  }

  async send(
    queueUrl: string,
    messages: readonly { body: string; groupId?: string; dedupId?: string; delaySeconds?: number }[],
  ): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      let entries: SendMessageBatchRequestEntry[] = messages.slice(i, i + 10).map((m, j) => ({
        Id: String(j),
        MessageBody: m.body,
        ...(m.groupId === undefined ? {} : { MessageGroupId: m.groupId }),
        ...(m.dedupId === undefined ? {} : { MessageDeduplicationId: m.dedupId }),
        ...(m.delaySeconds === undefined || m.delaySeconds === 0 ? {} : { DelaySeconds: m.delaySeconds }),
      }));
      for (let attempt = 1; ; attempt++) {
        const out = await this.client.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
        );
        const failed = out.Failed ?? [];
        if (failed.length === 0) break;
        const ids = new Set(failed.map((f) => f.Id));
        if (attempt >= 2 || failed.some((f) => f.SenderFault === true)) {
          const first = failed[0];
          throw new Error(
            `SQS refused ${failed.length} of ${entries.length} message(s) to ${queueUrl}: ${first?.Code ?? '?'} ${first?.Message ?? ''}`.trim(),
          );
        }
        entries = entries.filter((e) => ids.has(e.Id));
      }
    }
  }

  async changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
      }),
    );
  }
}

export { TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../delivery/settings';

/** A queue URL from the environment, or a clear error naming the variable. */
export function queueUrlFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = env[name];
  if (url === undefined || url === '') throw new Error(`${name} is not set: the SQS queue URL is required`);
  return url;
}
