import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The benchmarks' baseline: a Lambda with only Powertools Logger and an empty handler, bundled with
 * the same options as the reconciler. Its size and cold start are the floor any such function pays.
 */
const logger = new Logger({ serviceName: 'bench-baseline' });

export const handler = async (): Promise<Record<string, never>> => {
  logger.debug('baseline invoked');
  return {};
};
