/** infra/network.ts in the synthesized construct: the VPC placement and the security group. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Match } from 'aws-cdk-lib/assertions';
import { egressPorts } from '../../infra/network';
import { functionProps, NETWORK, SECRET_ARN, synthReconciler } from './helpers';

describe('Construct: RegistryReconciler — network', () => {
  describe('with the v1.0.16 defaults', () => {
    const { template } = synthReconciler({ network: NETWORK, alarmEmail: 'oncall@example.com' });

    it('opens only outbound TCP 443 from its own security group', () => {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        VpcId: NETWORK.vpcId,
        SecurityGroupEgress: [
          {
            CidrIp: '0.0.0.0/0',
            IpProtocol: 'tcp',
            FromPort: 443,
            ToPort: 443,
            Description: Match.anyValue(),
          },
        ],
        SecurityGroupIngress: Match.absent(),
      });
    });
  });

  describe('variants', () => {
    it('runs outside a VPC without the VPC policy, and uses given security groups as they are', () => {
      const outside = synthReconciler().template;
      expect(functionProps(outside).VpcConfig).toBeUndefined();
      outside.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });

      const inside = synthReconciler({
        network: { ...NETWORK, securityGroupIds: ['sg-0123456789abcdef0'] },
      }).template;
      inside.resourceCountIs('AWS::EC2::SecurityGroup', 0);
      inside.hasResourceProperties('AWS::IAM::Role', {
        ManagedPolicyArns: [
          { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('AWSLambdaVPCAccessExecutionRole$')])] },
        ],
      });
      expect(functionProps(inside).VpcConfig).toEqual({
        SubnetIds: NETWORK.subnetIds,
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      });
    });
  });
});

describe('Function: egressPorts', () => {
  it('opens 443 plus the registry’s and Keycloak’s ports', () => {
    expect(
      egressPorts({
        url: 'http://registry.internal',
        auth: { type: 'keycloak', tokenUrl: 'https://kc.internal:8443/token', secretArn: SECRET_ARN },
      }),
    ).toEqual([80, 443, 8443]);
  });
});
