import { SqsAdapter, type SqsSend, TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../lib/aws/sqs';
import type { LoggerLike } from '../lib/telemetry/telemetry';
import type { WorkQueuePort } from './worker';

/**
 * The reconciler's SQS calls, from the queue URLs in the environment. Without WORK_QUEUE_URL a
 * handed-back message keeps the queue's visibility timeout (said once at cold start); without
 * TRIGGER_QUEUE_URL a write is not verified after the scan (said at each write).
 */
export function workQueueFromEnv(
  logger: LoggerLike,
  env: NodeJS.ProcessEnv = process.env,
  sqs: SqsSend = new SqsAdapter(),
): WorkQueuePort {
  const work = env[WORK_QUEUE_URL_ENV] || undefined;
  const trigger = env[TRIGGER_QUEUE_URL_ENV] || undefined;
  if (work === undefined)
    logger.error(
      `${WORK_QUEUE_URL_ENV} is not set: handed-back messages wait out the queue's visibility timeout instead of their own retry delay`,
    );
  return {
    changeVisibility: async (message, seconds) => {
      if (work === undefined || message.receiptHandle === undefined) return;
      await sqs.changeVisibility(work, message.receiptHandle, seconds);
    },
    sendTrigger: async (body, delaySeconds) => {
      if (trigger === undefined)
        throw new Error(
          `${TRIGGER_QUEUE_URL_ENV} is not set: the write cannot be verified after the registry's scan`,
        );
      await sqs.send(trigger, [{ body, delaySeconds }]);
    },
  };
}
