/**
 * What a `RegistryReconciler` can be told: the settings document of settings.ts (the reconciler's
 * configuration plus the deployment keys, with their defaults and descriptions: docs/configuration.md),
 * and the few props that only code can give (a topic object, other handler files).
 */
import type { Duration } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { SettingsInput } from './settings';

/** `T` with every property, array and nested object read-only (props are never changed). */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The props only code can give. */
export interface ConstructOnlyProps {
  /**
   * Topic the alarms notify (on ALARM and on OK). Not with `alarmEmail`.
   * @default - a new topic when `alarmEmail` is set, otherwise none
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The reconciler handler's source file.
   * @default functions/reconciler/handler.ts
   */
  readonly entry?: string;
  /**
   * The fan-out handler's source file.
   * @default functions/fanout/handler.ts
   */
  readonly fanoutEntry?: string;
  /**
   * The webhook receiver's handler source file (with `webhook.enabled`).
   * @default functions/webhook/handler.ts
   */
  readonly webhookEntry?: string;
}

/**
 * Properties of `RegistryReconciler`: the settings document (the parameters file without
 * `stackName` and `tags`) and the construct-only props. Every field is described in
 * docs/configuration.md.
 */
export type RegistryReconcilerProps = DeepReadonly<SettingsInput> & ConstructOnlyProps;

/** One registry entry to keep pointed at a live task. */
export type ReconcilerTarget = NonNullable<RegistryReconcilerProps['targets']>[number];
/** How the reconciler authenticates to the registry. */
export type RegistryAuthProps = RegistryReconcilerProps['registry']['auth'];
export type KeycloakAuthProps = Extract<RegistryAuthProps, { type: 'keycloak' }>;
export type StaticTokenAuthProps = Extract<RegistryAuthProps, { type: 'static' }>;
/** Where the functions run. */
export type ReconcilerNetworkProps = NonNullable<RegistryReconcilerProps['network']>;
/** Log levels for the functions' own logs. */
export type ReconcilerLogLevel = NonNullable<RegistryReconcilerProps['logLevel']>;

/** The alarm thresholds the monitoring is built with (from the settings' `alarms`, which hold their defaults). */
export interface ReconcilerAlarmProps {
  readonly functionErrors: number;
  readonly reconcileErrors: number;
  readonly throttles: number;
  readonly noLiveInstanceFor: Duration;
  readonly oldestMessageAge: Duration;
}
