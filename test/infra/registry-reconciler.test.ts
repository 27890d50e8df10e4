/** The construct as a whole: the AWS Solutions checks on each shape of deployment. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NETWORK, REGISTRY, synthReconciler } from './helpers';

describe('Construct: RegistryReconciler', () => {
  describe('with the v1.0.16 defaults', () => {
    const { reconciler } = synthReconciler({ network: NETWORK, alarmEmail: 'oncall@example.com' });

    it('passes the AWS Solutions checks with every acknowledgement explained', () => {
      const report = new AwsSolutionsChecks().validateScope(Stack.of(reconciler));
      expect(report.violations).toEqual([]);
      expect(report.success).toBe(true);
    });
  });

  describe('variants', () => {
    it.each([
      [
        'static auth',
        {
          registry: {
            url: REGISTRY.url,
            auth: { type: 'static' as const, tokenSecret: 'registry-admin-token' },
          },
        },
      ],
      ['a cluster ARN', { cluster: 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster' }],
      ['given security groups', { network: { ...NETWORK, securityGroupIds: ['sg-0123456789abcdef0'] } }],
    ])('passes the AWS Solutions checks with %s', (_, overrides) => {
      const { stack } = synthReconciler(overrides);
      expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
    });
  });
});
