/**
 * The receiver's environment, set by the construct (infra/webhook.ts): the signing secret's ARN
 * (the secret itself is read from Secrets Manager, never put in the environment) beside the
 * configuration (`RECONCILER_CONFIG`) and the two queue URLs the other functions read.
 */
export const WEBHOOK_SECRET_ARN_ENV = 'WEBHOOK_SECRET_ARN';
