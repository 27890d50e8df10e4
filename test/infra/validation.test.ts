/** infra/validation.ts: every bad prop fails synth, each problem named. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Stack } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { InvalidReconcilerPropsError, RegistryReconciler } from '../../infra/registry-reconciler';
import { minimalProps, newApp, REGISTRY, synthReconciler } from './helpers';

describe('Construct: RegistryReconciler', () => {
  describe('validation', () => {
    const invalid =
      (overrides: Parameters<typeof minimalProps>[0], stackProps = {}) =>
      () =>
        synthReconciler(overrides, stackProps);

    it('fails synth on a configuration the function would reject, naming the field', () => {
      expect(invalid({ registry: { ...REGISTRY, url: 'ftp://registry' } })).toThrow(
        /registry\.url: must be an http\(s\) URL/,
      );
      expect(
        invalid({
          targets: [
            { kind: 'server', path: '/a/', cloudMapService: 'a' },
            { kind: 'server', path: '/a/', cloudMapService: 'b' },
          ],
        }),
      ).toThrow(/targets\.1\.path: duplicates targets\.0/);
      expect(invalid({ cluster: 'not a cluster' })).toThrow(/cluster: must be an ECS cluster name or ARN/);
    });

    it('rejects the M2M secret’s partial ARN, which Secrets Manager would misread', () => {
      expect(
        invalid({
          registry: {
            url: REGISTRY.url,
            auth: {
              type: 'keycloak',
              tokenUrl: 'https://kc.example.com/token',
              secretArn:
                'arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-keycloak-m2m-client-secret',
            },
          },
        }),
      ).toThrow(/pass the complete ARN/);
    });

    it('rejects a timeout in which one entry could never be finished, and accepts the default and more', () => {
      // The default registry limits: 3 attempts × 5 s per call; an entry's worst case is 56.4 s + 1 s.
      expect(invalid({ timeoutSeconds: 30 })).toThrow(
        /timeoutSeconds: 30 s cannot fit one entry's worst case with these registry limits \(3 attempts × 5000 ms per call\): at least 58 s/,
      );
      expect(invalid({ timeoutSeconds: 58 })).not.toThrow();
      // Slower registry calls need more.
      const slow = { ...REGISTRY, timeoutMs: 10_000 };
      expect(invalid({ registry: slow })).toThrow(/timeoutSeconds: 60 s cannot fit .* at least \d{3} s/);
      expect(invalid({ registry: slow, timeoutSeconds: 120 })).not.toThrow();
    });

    it('lists every problem at once', () => {
      let error: unknown;
      try {
        synthReconciler({
          network: { vpcId: 'vpc-1', subnetIds: [] },
          resyncMinutes: 1.5,
          memorySize: 100,
          alarmEmail: 'nobody',
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidReconcilerPropsError);
      const problems = (error as InvalidReconcilerPropsError).problems;
      expect(problems).toEqual([
        'resyncMinutes: must be an integer',
        'network.vpcId: is not a VPC id (vpc-…)',
        'network.subnetIds: name at least one subnet',
        'memorySize: must be at least 128',
        'alarmEmail: is not an e-mail address',
      ]);
      expect((error as Error).message).toContain('RegistryReconciler TestStack/Reconciler: invalid props:');
    });

    it('lists each problem of the function configuration on its own line', () => {
      let error: unknown;
      try {
        synthReconciler({
          targets: [
            { kind: 'server', path: 'no-slash', cloudMapService: 'a' },
            { kind: 'server', path: '/x/', cloudMapService: 'not a name' },
          ],
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidReconcilerPropsError);
      expect((error as InvalidReconcilerPropsError).problems).toEqual([
        'targets.0.path: must start with /',
        'targets.1.cloudMapService: must be a Cloud Map service name',
      ]);
    });

    it('rejects a cluster in another Region than a concrete stack environment', () => {
      expect(
        invalid(
          { cluster: 'arn:aws:ecs:eu-west-1:111122223333:cluster/c' },
          { env: { account: '111122223333', region: 'us-west-2' } },
        ),
      ).toThrow(/cluster: is in eu-west-1, the stack deploys to us-west-2/);
    });

    it('rejects both an alarm topic and an e-mail address', () => {
      const app = newApp();
      const stack = new Stack(app, 'S');
      const topic = new sns.Topic(stack, 'T');
      expect(
        () =>
          new RegistryReconciler(
            stack,
            'R',
            minimalProps({ alarmTopic: topic, alarmEmail: 'a@example.com' }),
          ),
      ).toThrow(/alarmTopic and alarmEmail/);
    });
  });

  describe('names of earlier versions', () => {
    // A JavaScript caller (TypeScript refuses these at compile time) gets each name's successor.
    const old = (props: Record<string, unknown>) => () =>
      synthReconciler(props as Parameters<typeof minimalProps>[0]);

    it('names the new field of each renamed prop', () => {
      let error: unknown;
      try {
        old({
          registryUrl: REGISTRY.url,
          registryTimeout: 1,
          resyncInterval: 1,
          timeout: 1,
          logRetention: 30,
          lagRetry: {},
          alarms: { noLiveInstanceFor: 1 },
        })();
      } catch (e) {
        error = e;
      }
      expect((error as InvalidReconcilerPropsError).problems).toEqual([
        'alarms.noLiveInstanceFor: renamed: use alarms.noLiveInstanceMinutes (a number)',
        'registryUrl: renamed: use registry.url',
        'registryTimeout: renamed: use registry.timeoutMs (milliseconds, a number)',
        'resyncInterval: renamed: use resyncMinutes (a number)',
        'timeout: renamed: use timeoutSeconds (a number)',
        'logRetention: renamed: use logRetentionDays (a number)',
        expect.stringMatching(/^lagRetry: removed: the deployed reconciler never used it/),
      ]);
    });
  });
});
