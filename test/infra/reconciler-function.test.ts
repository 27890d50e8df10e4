/** infra/reconciler-function.ts in the synthesized construct: the function, its logs and environment. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Match } from 'aws-cdk-lib/assertions';
import { CONFIG_ENV, parseConfig } from '../../functions/reconciler/config';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE } from '../../functions/reconciler/telemetry';
import { DEFAULT_TARGETS, STATIC_TOKEN_ENV } from '../../infra/defaults';
import { actionsOf, environmentOf, iamStatements, NETWORK, SECRET_ARN, synthReconciler } from './helpers';

describe('Construct: RegistryReconciler — function', () => {
  describe('with the v1.0.16 defaults', () => {
    const { template, reconciler } = synthReconciler({ network: NETWORK, alarmEmail: 'oncall@example.com' });

    describe('Lambda', () => {
      it('runs Node.js 24 on arm64 with JSON logs into its own log group with retention', () => {
        const logGroupId = template.getResourceId('AWS::Logs::LogGroup', {
          Properties: { RetentionInDays: 30 },
        });
        template.hasResourceProperties('AWS::Lambda::Function', {
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: 256,
          Timeout: 30,
          LoggingConfig: {
            LogFormat: 'JSON',
            ApplicationLogLevel: 'INFO',
            SystemLogLevel: 'INFO',
            LogGroup: { Ref: logGroupId },
          },
          VpcConfig: {
            SubnetIds: NETWORK.subnetIds,
            SecurityGroupIds: [
              { 'Fn::GetAtt': [Match.stringLikeRegexp('ReconcilerSecurityGroup'), 'GroupId'] },
            ],
          },
        });
      });

      it('sets the Powertools variables from telemetry.ts and a configuration the function accepts', () => {
        const env = environmentOf(template);
        expect(env).toEqual({
          POWERTOOLS_SERVICE_NAME: DEFAULT_SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
          [CONFIG_ENV]: expect.any(String),
        });
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
        expect(config.targets.map((t) => t.path)).toEqual(DEFAULT_TARGETS.map((t) => t.path));
        expect(reconciler.config).toEqual(config);
      });
    });
  });

  describe('variants', () => {
    it('injects a static token from Secrets Manager at deploy time and grants no secret read', () => {
      const { template } = synthReconciler({
        auth: { type: 'static', tokenSecret: 'registry-admin-token', tokenSecretJsonField: 'token' },
      });
      const env = environmentOf(template);
      expect(env[STATIC_TOKEN_ENV]).toBe(
        '{{resolve:secretsmanager:registry-admin-token:SecretString:token::}}',
      );
      expect(JSON.parse(String(env[CONFIG_ENV])).registry.auth).toEqual({
        type: 'static',
        tokenEnv: STATIC_TOKEN_ENV,
      });
      expect(iamStatements(template).flatMap(actionsOf)).not.toContain('secretsmanager:GetSecretValue');
    });

    it('never lets Lambda filter above INFO, so metric lines survive a WARN level', () => {
      const { template } = synthReconciler({ logLevel: 'WARN' });
      expect(environmentOf(template).POWERTOOLS_LOG_LEVEL).toBe('WARN');
      template.hasResourceProperties('AWS::Lambda::Function', {
        LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'INFO' }),
      });
    });
  });
});
