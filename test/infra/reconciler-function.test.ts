/**
 * infra/reconciler-function.ts, infra/fanout-function.ts and infra/house-lambda.ts in the
 * synthesized construct: both functions, their logs and environments.
 */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Match } from 'aws-cdk-lib/assertions';
import { CONFIG_ENV, parseConfig } from '../../functions/lib/config/config';
import { STATIC_TOKEN_ENV, V1016_TARGETS } from '../../functions/lib/config/defaults';
import { TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../../functions/lib/delivery/settings';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE } from '../../functions/lib/telemetry/telemetry';
import {
  actionsOf,
  environmentOf,
  type FunctionId,
  functionId,
  iamStatements,
  NETWORK,
  SECRET_ARN,
  synthReconciler,
} from './helpers';

describe('Construct: RegistryReconciler — function', () => {
  describe('with the v1.0.16 defaults', () => {
    const { template, reconciler } = synthReconciler({ network: NETWORK, alarmEmail: 'oncall@example.com' });

    describe('Lambda', () => {
      it('runs Node.js 24 on arm64 with JSON logs into its own log group with retention', () => {
        template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
        template.hasResourceProperties('AWS::Lambda::Function', {
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: 256,
          Timeout: 60,
          Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReconcilerRole'), 'Arn'] },
          LoggingConfig: {
            LogFormat: 'JSON',
            ApplicationLogLevel: 'INFO',
            SystemLogLevel: 'INFO',
            LogGroup: { Ref: Match.stringLikeRegexp('^ReconcilerLogGroup') },
          },
          VpcConfig: {
            SubnetIds: NETWORK.subnetIds,
            SecurityGroupIds: [
              { 'Fn::GetAtt': [Match.stringLikeRegexp('ReconcilerSecurityGroup'), 'GroupId'] },
            ],
          },
        });
      });

      it('runs the fan-out with the same house settings, 30 s, in the same VPC and security group, into its own log group', () => {
        template.hasResourceProperties('AWS::Lambda::Function', {
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: 256,
          Timeout: 30,
          Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReconcilerFanoutRole'), 'Arn'] },
          LoggingConfig: {
            LogFormat: 'JSON',
            ApplicationLogLevel: 'INFO',
            SystemLogLevel: 'INFO',
            LogGroup: { Ref: Match.stringLikeRegexp('^ReconcilerFanoutLogGroup') },
          },
          VpcConfig: {
            SubnetIds: NETWORK.subnetIds,
            SecurityGroupIds: [
              { 'Fn::GetAtt': [Match.stringLikeRegexp('ReconcilerSecurityGroup'), 'GroupId'] },
            ],
          },
        });
        template.resourceCountIs('AWS::Logs::LogGroup', 2);
      });

      it.each<FunctionId>(['Function', 'FanoutFunction'])(
        '%s: sets the Powertools variables from telemetry.ts, both queue URLs and a configuration the function accepts',
        (id) => {
          const env = environmentOf(template, id);
          expect(env).toEqual({
            POWERTOOLS_SERVICE_NAME: DEFAULT_SERVICE_NAME,
            POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
            POWERTOOLS_LOG_LEVEL: 'INFO',
            NODE_OPTIONS: '--enable-source-maps',
            [CONFIG_ENV]: expect.any(String),
            [WORK_QUEUE_URL_ENV]: { Ref: expect.stringMatching(/^ReconcilerWorkQueue[0-9A-F]{8}$/) },
            [TRIGGER_QUEUE_URL_ENV]: { Ref: expect.stringMatching(/^ReconcilerTriggerQueue[0-9A-F]{8}$/) },
          });
          expect(env[CONFIG_ENV]).toBe(environmentOf(template, 'Function')[CONFIG_ENV]);
        },
      );

      it('gives both functions the same queue URLs under the names their handlers read', () => {
        const reconciler = environmentOf(template, 'Function');
        const fanout = environmentOf(template, 'FanoutFunction');
        for (const name of [WORK_QUEUE_URL_ENV, TRIGGER_QUEUE_URL_ENV]) {
          expect(reconciler[name]).toEqual({ Ref: expect.any(String) });
          expect(fanout[name]).toEqual(reconciler[name]);
        }
        expect(reconciler[WORK_QUEUE_URL_ENV]).not.toEqual(reconciler[TRIGGER_QUEUE_URL_ENV]);
      });

      it('gives the reconciler a configuration the function accepts', () => {
        const env = environmentOf(template);
        const config = parseConfig(JSON.parse(String(env[CONFIG_ENV])));
        expect(config).toMatchObject({
          cluster: 'mcp-gateway-ecs-cluster',
          namespace: 'mcp-gateway.local',
          registryService: 'mcp-gateway-registry',
          registry: {
            url: 'https://registry.example.com',
            auth: { type: 'keycloak', secretArn: SECRET_ARN },
          },
          dryRun: false,
        });
        expect(config.targets.map((t) => t.path)).toEqual(V1016_TARGETS.map((t) => t.path));
        expect(reconciler.config).toEqual(config);
      });
    });
  });

  describe('variants', () => {
    it('injects a static token from Secrets Manager at deploy time and grants no secret read', () => {
      const { template } = synthReconciler({
        registry: {
          url: 'https://registry.example.com',
          auth: { type: 'static', tokenSecret: 'registry-admin-token', tokenSecretJsonField: 'token' },
        },
      });
      const env = environmentOf(template);
      for (const id of ['Function', 'FanoutFunction'] as const) {
        expect(environmentOf(template, id)[STATIC_TOKEN_ENV]).toBe(
          '{{resolve:secretsmanager:registry-admin-token:SecretString:token::}}',
        );
      }
      expect(JSON.parse(String(env[CONFIG_ENV])).registry.auth).toEqual({
        type: 'static',
        tokenEnv: STATIC_TOKEN_ENV,
      });
      expect(iamStatements(template).flatMap(actionsOf)).not.toContain('secretsmanager:GetSecretValue');
    });

    it('never lets Lambda filter above INFO, so metric lines survive a WARN level', () => {
      const { template } = synthReconciler({ logLevel: 'WARN' });
      expect(environmentOf(template).POWERTOOLS_LOG_LEVEL).toBe('WARN');
      expect(environmentOf(template, 'FanoutFunction').POWERTOOLS_LOG_LEVEL).toBe('WARN');
      template.allResourcesProperties('AWS::Lambda::Function', {
        LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'INFO' }),
      });
      expect(functionId(template, 'FanoutFunction')).toMatch(/^ReconcilerFanoutFunction/);
    });
  });
});
