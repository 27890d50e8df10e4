import type { SqsSend } from './sqs';

/**
 * The SQS adapter (sqs.ts), loaded on the first call, once per container.
 *
 * The reconciler sends to SQS rarely (a message handed back with its own retry delay, the
 * verification after a write), so its SQS client stays out of the cold start. The build replaces
 * `process.env.RECONCILER_SQS_MODULE` with the name of a second file written beside the handler,
 * sqs.ts bundled on its own (`SQS_MODULE` in infra/bundling.ts, esbuild `define`); the import's
 * argument is a variable, so the handler's bundle does not take sqs.ts in. Run from the sources
 * (tools, tests) the variable is unset and the import is the TypeScript module.
 */
const SQS_MODULE: string = process.env.RECONCILER_SQS_MODULE ?? './sqs';

export class SqsOnDemand implements SqsSend {
  private adapter: Promise<SqsSend> | undefined;

  private load(): Promise<SqsSend> {
    this.adapter ??= (import(SQS_MODULE) as Promise<typeof import('./sqs')>).then(
      (module) => new module.SqsAdapter(),
      (error: unknown) => {
        // Not cached: the next call tries again.
        this.adapter = undefined;
        throw new Error(`the SQS adapter (${SQS_MODULE}) could not be loaded: ${String(error)}`);
      },
    );
    return this.adapter;
  }

  async send(queueUrl: string, messages: Parameters<SqsSend['send']>[1]): Promise<void> {
    await (await this.load()).send(queueUrl, messages);
  }

  async changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
    await (await this.load()).changeVisibility(queueUrl, receiptHandle, seconds);
  }
}
