import { createAwsAdapters } from '../lib/aws/clients';
import { queueUrlFromEnv, SqsAdapter, TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../lib/aws/sqs';
import type { ReconcilerConfig } from '../lib/config/config';
import { createRegistryClient } from '../lib/registry/client';
import type { LoggerLike } from '../lib/telemetry/telemetry';
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
  // One client serves the page reads and the verification: one token, one HTTP configuration.
  const registry = createRegistryClient(config.registry, { logger });
  return {
    ...createAwsAdapters(),
    pages: registry.pages(),
    verifier: registry,
    queues: {
      sendWork: (messages) => sqs.send(workUrl, messages),
      sendTriggers: (messages) => sqs.send(triggerUrl, messages),
    },
  };
}
