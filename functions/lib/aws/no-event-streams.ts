/**
 * The Lambda bundle's stand-in for `@smithy/core/event-streams`. infra/bundling.ts substitutes it
 * in the Lambda build only. The SDK's protocol layer imports event-stream support lazily, for
 * operations that stream events; none of the operations this function calls (Cloud Map
 * DiscoverInstances, ECS DescribeTasks/DescribeServices, SQS SendMessageBatch/ChangeMessageVisibility,
 * Secrets Manager GetSecretValue) has one, so the codec (about 15 KB minified) is never needed.
 * Reaching this module is a bug in that claim, and says so.
 */
function unsupported(): never {
  throw new Error(
    'event streams are not bundled in this Lambda (infra/bundling.ts): no operation it calls streams events',
  );
}

export const EventStreamSerde = unsupported;
export const eventStreamSerdeProvider = unsupported;
