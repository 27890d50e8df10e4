/**
 * What the registry client's parts share: its options, its HTTP, its logger, and the routes it
 * has learnt the registry offers (once per client, that is per Lambda container).
 */
import type { ApiName } from '../ports';
import type { LoggerLike } from '../telemetry';
import type { RegistryHttp, RegistryHttpOptions } from './http';

/** The HTTP options plus what the client itself decides. */
export interface RegistryClientOptions extends RegistryHttpOptions {
  /** Re-enable a server the registry disabled after our write. Overrides a security control. */
  reenableAfterWrite: boolean;
  /** Servers asked for per page of `GET /api/servers` (the registry allows at most 500). */
  pageSize?: number;
  /** Which registry contract to speak; `auto` (default) finds out from the registry's answers. */
  api?: RegistryApi;
  /** Compare-and-swap conflicts (412) re-decided within one write before giving up (default 3). */
  maxConflicts?: number;
}

/** The registry generations whose contracts the client speaks (see docs/compatibility.md). */
export type RegistryGeneration = '1.0.16' | '1.29';
/** `registry.api`: a generation, or `auto`. */
export type RegistryApi = 'auto' | RegistryGeneration;

/** The tag the registry's security scan puts on a server it switched off. */
export const SECURITY_PENDING_TAG = 'security-pending';

/** The registry's maximum page size. */
export const MAX_PAGE_SIZE = 500;

/** A route's presence: learnt once per client (container) from the registry's answers, or pinned. */
export type Presence = 'unknown' | 'present' | 'absent';

/** The routes whose presence differs between generations. */
export interface Routes {
  /**
   * Whether `GET /api/servers/{path}` exists. v1.0.16 has no such route and answers 404, the same
   * status a newer registry gives for a missing entry; so a 404 always falls back to the list, and
   * only "404 there, but found in the list" proves the route absent. Then it is not tried again.
   */
  singleRoute: Presence;
  /** `PATCH /api/servers/{path}` (1.2x). Learnt from a 404/405 to a PATCH. */
  serverPatch: Presence;
  /** `PATCH /api/agents/{path}` (1.2x, which also sends an agent `ETag`). */
  agentPatch: Presence;
}

/** The client's shared state, handed to each of its parts. */
export interface ClientState {
  readonly http: RegistryHttp;
  readonly logger: LoggerLike;
  readonly options: RegistryClientOptions;
  readonly pageSize: number;
  readonly routes: Routes;
}

/** Whether a read is the first look at an entry or the confirmation after a write. */
export interface ReadPhase {
  api: Extract<ApiName, 'registry.read' | 'registry.readBack'>;
  action: 'read' | 'read-back' | 'verify';
}
export const READ: ReadPhase = { api: 'registry.read', action: 'read' };
export const READ_BACK: ReadPhase = { api: 'registry.readBack', action: 'read-back' };
export const VERIFY: ReadPhase = { api: 'registry.read', action: 'verify' };

/** The routes as `api` pins them, or all unknown for `auto`. */
export function initialRoutes(api: RegistryApi): Routes {
  const pinned: Presence = api === 'auto' ? 'unknown' : api === '1.29' ? 'present' : 'absent';
  return { singleRoute: pinned, serverPatch: pinned, agentPatch: pinned };
}
