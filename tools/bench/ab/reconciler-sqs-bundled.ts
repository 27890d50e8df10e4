/**
 * The reconciler as it was before its SQS adapter moved beside the bundle: the same handler with
 * the SQS adapter (and its client's code) in the bundle, compiled and evaluated at load. The
 * adapter builds its client on first use either way, so this differs from the deployed bundle only
 * in the code the cold start compiles.
 */
export { SqsAdapter } from '../../../functions/lib/aws/sqs';
export { handler } from '../../../functions/reconciler/handler';
