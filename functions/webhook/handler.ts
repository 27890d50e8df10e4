import { Logger } from '@aws-lambda-powertools/logger';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { queueUrlFromEnv, SqsAdapter, TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../lib/aws/sqs';
import { loadConfigFromEnv } from '../lib/config/config';
import { describeError } from '../lib/errors';
import { secretsManagerSource } from '../lib/registry/auth';
import { DEFAULT_MAX_SKEW_MS, WebhookReceiver } from './receiver';
import { WEBHOOK_SECRET_ARN_ENV } from './settings';

/**
 * The deployed webhook receiver, behind a Lambda Function URL (auth NONE: the HMAC signature is
 * the authentication). Built once per container: the configuration, the queue URLs and the secret's
 * ARN are checked here, and the secret's first read starts here (cold start); a bad setting stops
 * the function with a message that names it. The secret is read again after 15 minutes (a rotated
 * secret is picked up without a redeploy).
 */
const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'registry-reconciler-webhook',
});

const built = (() => {
  try {
    const config = loadConfigFromEnv();
    const secretArn = process.env[WEBHOOK_SECRET_ARN_ENV];
    if (secretArn === undefined || secretArn === '')
      throw new Error(`${WEBHOOK_SECRET_ARN_ENV} is not set: the signing secret's ARN is required`);
    const workUrl = queueUrlFromEnv(WORK_QUEUE_URL_ENV);
    const triggerUrl = queueUrlFromEnv(TRIGGER_QUEUE_URL_ENV);
    const secrets = secretsManagerSource();
    const readSecret = async (): Promise<string> => {
      const { value } = await secrets.read(secretArn, { forceFetch: false });
      return typeof value === 'string' ? value : Buffer.from(value as Uint8Array).toString('utf8');
    };
    // The first read starts with the container; a failure is reported by the request that awaits it.
    const first = readSecret();
    first.catch(() => undefined);
    let primed = false;
    const sqs = new SqsAdapter();
    return new WebhookReceiver({
      config,
      secret: () => {
        if (primed) return readSecret();
        primed = true;
        return first;
      },
      queues: {
        sendWork: (messages) => sqs.send(workUrl, messages),
        sendTriggers: (messages) => sqs.send(triggerUrl, messages),
      },
      logger,
      now: Date.now,
      maxSkewMs: DEFAULT_MAX_SKEW_MS,
    });
  } catch (error) {
    logger.error('webhook receiver cannot start', error as Error);
    throw error;
  }
})();

export async function handler(event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> {
  const http = event.requestContext?.http;
  try {
    return await built.handle({
      method: http?.method ?? 'POST',
      headers: event.headers ?? {},
      body: event.body,
      isBase64Encoded: event.isBase64Encoded === true,
      ...(event.requestContext?.requestId === undefined ? {} : { requestId: event.requestContext.requestId }),
      ...(http?.sourceIp === undefined ? {} : { sourceIp: http.sourceIp }),
    });
  } catch (error) {
    // The secret or a queue failed: the invocation fails (the registry sees a 502; the errors alarm counts it).
    logger.error(`webhook 5xx: nothing was sent: ${describeError(error)}`, {
      webhook: { outcome: 'failed', requestId: event.requestContext?.requestId },
    });
    throw error;
  }
}
