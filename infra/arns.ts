import { type Stack, Token } from 'aws-cdk-lib';

/** An account/Region context for ARNs: the given ARN's when the resource was given by ARN, else the stack's. */
export interface ArnParts {
  arn(resource: string): string;
  /** The same ARN as cdk-nag prints it (pseudo parameters as `<AWS::Region>`). */
  nagArn(resource: string): string;
}

/** ARNs of `service` resources in the account and Region of `nameOrArn` when it is an ARN, else of the stack. */
export function arnParts(nameOrArn: string, stack: Stack, service: string): ArnParts {
  const [, partition, , region, account] = nameOrArn.startsWith('arn:') ? nameOrArn.split(':') : [];
  if (partition !== undefined && region !== undefined && account !== undefined) {
    const arn = (resource: string) => `arn:${partition}:${service}:${region}:${account}:${resource}`;
    return { arn, nagArn: arn };
  }
  return {
    arn: (resource) => `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}`,
    nagArn: (resource) =>
      `arn:${Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition}:${service}:${
        Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region
      }:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:${resource}`,
  };
}
