/**
 * The small interfaces the reconciler talks through. The decision core sees only plain data; the
 * orchestrator loads that data through these ports, which the Lambda fills with AWS SDK and HTTP
 * adapters and the tests, replay and simulation fill with their own.
 */

import type { CloudMapInstance, TargetKind, TaskState } from '../core/types';
import type { HostForms } from '../core/url';

export type { CloudMapHealth, CloudMapInstance, TargetKind, TaskState } from '../core/types';

/** Counts every remote call an adapter makes, so each decision record can say what it cost. */
export interface CallContext {
  count(api: ApiName): void;
}

/** The remote calls the reconciler can make, as named in decision records and benchmarks. */
export type ApiName =
  | 'cloudmap.DiscoverInstances'
  | 'cloudmap.GetService'
  | 'ecs.DescribeTasks'
  | 'ecs.DescribeServices'
  | 'secrets.GetSecretValue'
  | 'registry.token'
  | 'registry.read'
  | 'registry.write'
  | 'registry.readBack'
  | 'registry.toggle';

/** A call context that counts nothing, for callers that do not need the figures. */
export const NO_COUNT: CallContext = { count: () => undefined };

export interface CloudMapPort {
  /** All instances of a service (any health). An unknown namespace or service yields an error. */
  discoverInstances(namespace: string, service: string, ctx: CallContext): Promise<CloudMapInstance[]>;
  /** The name of a Cloud Map service, from its ARN (for ECS services that use ServiceRegistries). */
  serviceNameByArn(arn: string, ctx: CallContext): Promise<string | undefined>;
}

/** How an ECS service is discoverable in Cloud Map. */
export interface EcsServiceDiscovery {
  serviceName: string;
  /** Service Connect discovery names (Cloud Map service names), from the service's deployments. */
  discoveryNames: string[];
  /** ServiceRegistries Cloud Map service ARNs. */
  registryArns: string[];
}

export interface EcsPort {
  /** States of the given tasks (ids or ARNs); tasks ECS does not know are absent from the map. */
  describeTasks(cluster: string, taskIds: string[], ctx: CallContext): Promise<Map<string, TaskState>>;
  /** How one ECS service is discoverable, or undefined when the service does not exist. */
  describeService(
    cluster: string,
    serviceName: string,
    ctx: CallContext,
  ): Promise<EcsServiceDiscovery | undefined>;
}

/** Where a registry entry lives. */
export interface EntryRef {
  kind: TargetKind;
  /** Exactly as stored: servers keep their trailing slash (`/currenttime/`), agents have none. */
  path: string;
}

/** A registry entry as read: its address plus the whole record, which a rewrite re-sends. */
export interface RegistryEntry extends EntryRef {
  /** `proxy_pass_url` for servers, `url` for agents. */
  url: string;
  /** `is_enabled` for servers; undefined for agents. */
  enabled?: boolean;
  /** The record as the registry returned it (opaque to the core). */
  record: Record<string, unknown>;
  /** A server the registry switched off and tagged `security-pending` (its security scan). */
  securityPending?: boolean;
  /** The compare-and-swap tag for this read (`W/"<ms>"`), when the registry has one. */
  etag?: string;
}

/** How a write reached the registry. `none`: nothing to write. */
export type WriteRoute = 'patch' | 'register' | 'put' | 'none';

export interface WriteResult {
  /** The address read back after the write. */
  url: string;
  /** The read-back shows the address that was written. */
  confirmed: boolean;
  /** A server that was enabled before the write and is disabled after it (the registry's security scan). */
  disabledAfterWrite: boolean;
  /** The reconciler re-enabled it (only with the explicit opt-in). */
  reenabled: boolean;
  /** Which route wrote (the decision record's `write.route`). */
  route?: WriteRoute;
  /**
   * Fields the write reset besides the address: those whose value differs between the read before
   * and the read-back after it, plus those the route always replaces (`id`, `registered_by`).
   */
  resets?: string[];
  /**
   * Fields the write may have reset that no read shows, so neither re-sent nor compared (v1.0.16's
   * register-overwrite: `headers`, `visibility`, `allowed_groups`, `sse_endpoint`,
   * `supported_transports`). Absent when there are none.
   */
  mayReset?: string[];
  /** The entry changed under the write (412) and `redecide` said no write is needed any more. */
  superseded?: boolean;
}

/** Options of one write. */
export interface WriteOptions {
  /**
   * Called with the entry as read again after a compare-and-swap conflict (412): the address to
   * write now, or undefined when no write is needed any more. Without it a conflict throws
   * `WriteConflictError`. Called at most `maxConflicts` times (the client's bound).
   */
  redecide?: (current: RegistryEntry) => string | undefined;
  /** The names the entry's host goes by: endpoints on any of them move with the address. */
  hostForms?: HostForms;
}

/** What a check some time after a write found (the registry scans in the background). */
export interface WriteVerification {
  /** The address the entry has now. */
  url: string;
  /** It still has the address written. */
  confirmed: boolean;
  /** Disabled and tagged `security-pending` (the scan failed). */
  disabledSecurityPending: boolean;
  /** Disabled without the tag. */
  disabled: boolean;
  /** The address is not the one written: a late scan saved the record it captured earlier, or another writer. */
  addressWrittenBack: boolean;
  /** The entry as read. */
  entry: RegistryEntry;
  /** Tools the registry blocks on the server (1.31+ `SECURITY_ALLOW_UNSAFE_SERVERS`: the scan blocks tools, not the server). */
  blockedTools?: string[];
}

export interface RegistryPort {
  /** Reads one entry. Throws `EntryNotFoundError` when there is none. */
  readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry>;
  /**
   * Rewrites the entry's address to `newUrl`, re-sending every other field as read, then reads it
   * back. `mcp_endpoint` / `sse_endpoint` follow the address when their host is a form of
   * `options.hostForms` (core/url.ts `isHostForm`).
   */
  writeUrl(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    options?: WriteOptions,
  ): Promise<WriteResult>;
  /**
   * The fields a write of `entry` would reset without any read showing them (`WriteResult.mayReset`),
   * known before writing: a dry run's record names them.
   */
  fieldsMayReset?(entry: RegistryEntry): string[];
}
