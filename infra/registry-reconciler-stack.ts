import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RegistryReconciler, type RegistryReconcilerProps } from './registry-reconciler';

/** Properties of `RegistryReconcilerStack`. */
export interface RegistryReconcilerStackProps extends StackProps {
  /** Everything about the reconciler; see `RegistryReconcilerProps`. */
  readonly reconciler: RegistryReconcilerProps;
}

/**
 * The reconciler as a stack of its own, deployed next to the MCP Gateway Registry stack: it refers
 * to that stack's resources by name and ARN only, so the two are created and removed independently.
 * Environment-agnostic unless `env` is given: synth needs no credentials.
 */
export class RegistryReconcilerStack extends Stack {
  readonly reconciler: RegistryReconciler;

  constructor(scope: Construct, id: string, props: RegistryReconcilerStackProps) {
    super(scope, id, {
      description: 'Registry reconciler: keeps MCP Gateway Registry entries pointed at live ECS tasks',
      ...props,
    });
    this.reconciler = new RegistryReconciler(this, 'Reconciler', props.reconciler);

    new CfnOutput(this, 'FunctionName', {
      value: this.reconciler.function.functionName,
      description: 'The reconciler function (aws lambda invoke, logs)',
    });
    new CfnOutput(this, 'LogGroupName', {
      value: this.reconciler.logGroup.logGroupName,
      description: 'Decision records (one JSON line per target per reconcile)',
    });
    new CfnOutput(this, 'FanoutFunctionName', {
      value: this.reconciler.fanoutFunction.functionName,
      description: 'The fan-out function (triggers to per-entry work)',
    });
    new CfnOutput(this, 'FanoutLogGroupName', {
      value: this.reconciler.fanoutLogGroup.logGroupName,
      description: "The fan-out's logs",
    });
    new CfnOutput(this, 'TriggerQueueUrl', {
      value: this.reconciler.triggerQueue.queueUrl,
      description: 'The standard queue every trigger goes to (send a resync here)',
    });
    new CfnOutput(this, 'WorkQueueUrl', {
      value: this.reconciler.workQueue.queueUrl,
      description: 'The FIFO queue of per-entry work (message group <kind>:<path>)',
    });
    new CfnOutput(this, 'WorkDeadLetterQueueUrl', {
      value: this.reconciler.workDeadLetterQueue.queueUrl,
      description: 'Work the reconciler failed repeatedly (FIFO; MessageGroupId names the entry)',
    });
    new CfnOutput(this, 'TriggerDeadLetterQueueUrl', {
      value: this.reconciler.triggerDeadLetterQueue.queueUrl,
      description: 'Triggers the fan-out failed repeatedly',
    });
    new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', {
      value: this.reconciler.deliveryDeadLetterQueue.queueUrl,
      description: 'Events EventBridge could not deliver to the trigger queue',
    });
    new CfnOutput(this, 'DashboardName', { value: this.reconciler.dashboard.dashboardName });
    const { webhook } = this.reconciler;
    if (webhook !== undefined) {
      new CfnOutput(this, 'WebhookUrl', {
        value: webhook.url.url,
        description: "Set as the registry's REGISTRATION_WEBHOOK_URL",
      });
      new CfnOutput(this, 'WebhookSecretArn', {
        value: webhook.secret.secretArn,
        description:
          "Its value is the registry's REGISTRATION_WEBHOOK_SIGNING_SECRET: aws secretsmanager get-secret-value --secret-id <this> --query SecretString --output text",
      });
      new CfnOutput(this, 'WebhookLogGroupName', {
        value: webhook.logGroup.logGroupName,
        description: "The webhook receiver's logs (one line per request)",
      });
    }
  }
}
