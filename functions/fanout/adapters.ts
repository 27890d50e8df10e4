import { createAwsAdapters } from '../reconciler/aws/clients';
import {
  queueUrlFromEnv,
  SqsAdapter,
  TRIGGER_QUEUE_URL_ENV,
  WORK_QUEUE_URL_ENV,
} from '../reconciler/aws/sqs';
import type { ReconcilerConfig } from '../reconciler/config';
import { createRegistryClient, createTokenProvider } from '../reconciler/registry/client';
import { RegistryHttp } from '../reconciler/registry/http';
import { RegistryPageReader } from '../reconciler/registry/list';
import type { LoggerLike } from '../reconciler/telemetry';
import type { FanoutOptions } from './wiring';

/** The fan-out's real adapters: Cloud Map and ECS, the registry (pages and the verification read), SQS. */
export function createFanoutAdapters(
  config: ReconcilerConfig,
  logger: LoggerLike,
  env: NodeJS.ProcessEnv = process.env,
): Pick<FanoutOptions, 'cloudMap' | 'ecs' | 'pages' | 'verifier' | 'queues'> {
  const workUrl = queueUrlFromEnv(WORK_QUEUE_URL_ENV, env);
  const triggerUrl = queueUrlFromEnv(TRIGGER_QUEUE_URL_ENV, env);
  const sqs = new SqsAdapter();
  const { registry } = config;
  const tokens = createTokenProvider(
    registry.auth,
    registry.timeoutMs,
    { logger },
    registry.maxResponseBytes,
  );
  const http = new RegistryHttp({
    baseUrl: registry.url,
    tokens,
    timeoutMs: registry.timeoutMs,
    maxAttempts: registry.maxAttempts,
    ...(registry.maxResponseBytes === undefined ? {} : { maxResponseBytes: registry.maxResponseBytes }),
    logger,
  });
  return {
    ...createAwsAdapters(),
    pages: new RegistryPageReader(http),
    verifier: createRegistryClient(registry, { logger, tokens }),
    queues: {
      sendWork: (messages) => sqs.send(workUrl, messages),
      sendTriggers: (messages) => sqs.send(triggerUrl, messages),
    },
  };
}
