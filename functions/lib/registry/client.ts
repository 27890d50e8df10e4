/**
 * The registry adapter behind `RegistryPort`: reads servers and agents, rewrites their address,
 * and reads them back to confirm. It speaks every registry generation (v1.0.16, 1.29, 1.32) with
 * one write rule (PATCH with If-Match first; the registry's answer decides), finding out once per
 * client which routes the registry offers unless `api` pins them.
 *
 * The client is one object per Lambda container, and what it learns lives in it: the server routes
 * (single read, PATCH) in its `ServerApi` (servers.ts), the agent PATCH in its `AgentApi`
 * (agents.ts), the token in its token provider (auth.ts), behind one HTTP layer (http.ts). What a
 * write sends and resets is rewrite.ts; the paged list reads are list.ts. This file holds the write
 * loop that re-decides on a 412, the later verification, and the factories.
 */
import type { ReconcilerConfig } from '../config/config';
import { splitUrl } from '../core/url';
import { PermanentError, WriteConflictError } from '../errors';
import type {
  CallContext,
  EntryRef,
  RegistryEntry,
  RegistryPort,
  WriteOptions,
  WriteResult,
  WriteVerification,
} from '../reconcile/ports';
import { type LoggerLike, SILENT_LOGGER } from '../telemetry/telemetry';
import { AgentApi } from './agents';
import {
  KeycloakTokenProvider,
  type SecretGetter,
  type SecretSource,
  StaticTokenProvider,
  secretsManagerSource,
  type TokenProvider,
} from './auth';
import { READ, RegistryHttp, type RegistryHttpOptions, VERIFY } from './http';
import { RegistryPageReader } from './list';
import { ServerApi } from './servers';

/** The registry generations whose contracts the client speaks (see docs/compatibility.md). */
export type RegistryGeneration = '1.0.16' | '1.29';
/** `registry.api`: a generation, or `auto`. */
export type RegistryApi = 'auto' | RegistryGeneration;

/** A route's presence: learnt once per client (container) from the registry's answers, or pinned. */
export type Presence = 'unknown' | 'present' | 'absent';

/** The routes' presence as `api` pins them (1.29: single read and PATCH; v1.0.16: neither), or unknown for `auto`. */
function pinnedPresence(api: RegistryApi): Presence {
  return api === 'auto' ? 'unknown' : api === '1.29' ? 'present' : 'absent';
}

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

/** The registry's maximum page size. */
const MAX_PAGE_SIZE = 500;

/** The MCP Gateway Registry over its public HTTP API (through nginx, with a bearer token). */
export class RegistryClient implements RegistryPort {
  private readonly http: RegistryHttp;
  private readonly logger: LoggerLike;
  private readonly servers: ServerApi;
  private readonly agents: AgentApi;
  private readonly maxConflicts: number;

  constructor(options: RegistryClientOptions) {
    const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    this.maxConflicts = options.maxConflicts ?? 3;
    this.http = new RegistryHttp(options);
    this.logger = options.logger ?? SILENT_LOGGER;
    const api = options.api ?? 'auto';
    const routes = pinnedPresence(api);
    this.servers = new ServerApi(
      this.http,
      this.logger,
      { api, pageSize, reenableAfterWrite: options.reenableAfterWrite },
      routes,
    );
    this.agents = new AgentApi(this.http, this.logger, routes);
  }

  /** The paged list reads (the fan-out's resync shards), over this client's HTTP and token. */
  pages(): RegistryPageReader {
    return new RegistryPageReader(this.http);
  }

  /** Reads one server or agent. Throws `EntryNotFoundError` when the registry has none at the exact path. */
  async readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry> {
    return ref.kind === 'server' ? this.servers.read(ref, ctx, READ) : this.agents.read(ref, ctx, READ);
  }

  /**
   * Rewrites the entry's address to `newUrl` by the best route the registry has (PATCH with the
   * entry's tag; else register-overwrite or PUT, re-sending every other field as read), then reads
   * the entry back. The result names the route and what it reset. On a 412 the entry is read again
   * and `options.redecide` says what to write now (bounded by `maxConflicts`); without it a
   * `WriteConflictError` carries the entry as read. A server the registry switched off before the
   * read-back is reported (and switched back on only with `reenableAfterWrite`); the background
   * scan's later verdict is `verifyWrite`'s. Writing the address the entry already has is a no-op.
   */
  async writeUrl(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    const parts = splitUrl(newUrl);
    if (!parts || !/^https?:\/\/$/i.test(parts.scheme)) {
      throw new PermanentError(
        `cannot rewrite ${entry.kind} ${entry.path}: ${JSON.stringify(newUrl)} is not an http(s) URL`,
      );
    }
    if (newUrl === entry.url) {
      // Every write triggers a re-index, an nginx reload, a health check and maybe a security scan.
      this.logger.debug('address unchanged; not writing', { kind: entry.kind, path: entry.path });
      return unchanged(entry);
    }
    let current = entry;
    let target = newUrl;
    for (let conflicts = 0; ; conflicts++) {
      // Endpoints follow any form of the host the entry has now (it may have changed under a 412).
      const forms =
        options.hostForms === undefined
          ? undefined
          : { ...options.hostForms, entryHost: splitUrl(current.url)?.host ?? options.hostForms.entryHost };
      const outcome =
        current.kind === 'server'
          ? await this.servers.write(current, target, ctx, forms)
          : await this.agents.write(current, target, ctx);
      if (outcome !== 'conflict') return outcome;
      // Someone changed the entry since we read it: read it again and decide again, never overwrite.
      const fresh = await this.readEntry(current, ctx);
      this.logger.warn('registry answered 412: the entry changed since it was read; deciding again', {
        kind: current.kind,
        path: current.path,
        conflicts: conflicts + 1,
      });
      if (options.redecide === undefined || conflicts + 1 >= this.maxConflicts) {
        throw new WriteConflictError(
          `registry write of ${current.kind} ${current.path}: the entry changed since it was read (HTTP 412, ${conflicts + 1} time${conflicts === 0 ? '' : 's'}); decide again from the entry as read now`,
          fresh,
        );
      }
      const next = options.redecide(fresh);
      if (next === undefined || next === fresh.url) {
        return { ...unchanged(fresh), confirmed: next !== undefined, superseded: true };
      }
      current = fresh;
      target = next;
    }
  }

  /** The fields a write of `entry` would reset that no read shows (v1.0.16's register-overwrite), before writing. */
  fieldsMayReset(entry: RegistryEntry): string[] {
    return this.servers.fieldsMayReset(entry);
  }

  /**
   * Reads the entry again (some time after a write: the registry scans in the background) and says
   * whether the scan disabled it (`security-pending`) or a late scan wrote an older address back.
   * Never re-enables and never writes.
   */
  async verifyWrite(ref: EntryRef, written: string, ctx: CallContext): Promise<WriteVerification> {
    const entry =
      ref.kind === 'server'
        ? await this.servers.read(ref, ctx, VERIFY)
        : await this.agents.read(ref, ctx, VERIFY);
    const verification = verificationOf(entry, written);
    if (verification.disabled || verification.addressWrittenBack || verification.blockedTools !== undefined) {
      this.logger.warn('the entry changed after our write settled', {
        kind: ref.kind,
        path: ref.path,
        written,
        now: entry.url,
        disabled: verification.disabled,
        securityPending: verification.disabledSecurityPending,
        ...(verification.blockedTools === undefined ? {} : { blockedTools: verification.blockedTools }),
      });
    }
    return verification;
  }
}

// ---- the verification some time after a write, when the registry's background scan has had its say ----

/** What an entry read after our write of `written` says about that write. */
export function verificationOf(entry: RegistryEntry, written: string): WriteVerification {
  const disabled = entry.enabled === false;
  const blocked = entry.kind === 'server' ? blockedToolsOf(entry.record) : [];
  return {
    url: entry.url,
    confirmed: entry.url === written,
    disabledSecurityPending: disabled && entry.securityPending === true,
    disabled,
    addressWrittenBack: entry.url !== written,
    entry,
    ...(blocked.length > 0 ? { blockedTools: blocked } : {}),
  };
}

/**
 * The tools the registry blocks on a server (1.31+: with `SECURITY_ALLOW_UNSAFE_SERVERS` the scan
 * blocks the flagged tools and leaves the server enabled; `POST /api/servers/toggle-tool/{path}`):
 * named in a `blocked_tools` / `disabled_tools` list (names or `{name}` objects), or marked in
 * `tool_list` (`blocked: true`, `enabled: false`, `is_enabled: false`). Sorted, each once.
 */
export function blockedToolsOf(record: Record<string, unknown>): string[] {
  const names = new Set<string>();
  const nameOf = (item: unknown): string | undefined => {
    if (typeof item === 'string') return item;
    const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? name : undefined;
  };
  for (const field of ['blocked_tools', 'disabled_tools']) {
    const list = record[field];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      const name = nameOf(item);
      if (name !== undefined && name !== '') names.add(name);
    }
  }
  const tools = record.tool_list;
  if (Array.isArray(tools)) {
    for (const tool of tools) {
      if (typeof tool !== 'object' || tool === null) continue;
      const t = tool as { blocked?: unknown; enabled?: unknown; is_enabled?: unknown };
      const name = nameOf(tool);
      if (name !== undefined && (t.blocked === true || t.enabled === false || t.is_enabled === false))
        names.add(name);
    }
  }
  return [...names].sort();
}

/** The result of a write that did not happen: the entry already has the address. */
export function unchanged(entry: RegistryEntry): WriteResult {
  return {
    url: entry.url,
    confirmed: true,
    disabledAfterWrite: false,
    reenabled: false,
    route: 'none',
    resets: [],
  };
}

/** The `registry` part of the validated configuration. */
export type RegistryConfig = Omit<
  ReconcilerConfig['registry'],
  'api' | 'maxResponseBytes' | 'verifyAfterMs' | 'scanSettleMs'
> &
  Partial<Pick<ReconcilerConfig['registry'], 'api' | 'maxResponseBytes' | 'verifyAfterMs' | 'scanSettleMs'>>;

/** Everything `createRegistryClient` would otherwise take from the process or build itself. */
export interface RegistryClientDeps {
  logger?: LoggerLike;
  /** Waits between retries; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Clock for token expiry, epoch ms. */
  now?: () => number;
  /** Environment for the static token; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Keycloak client credentials; Secrets Manager (cached, `secretsManagerSource`) by default. */
  secrets?: SecretSource | SecretGetter;
  /** Replaces the token provider the configuration would give. */
  tokens?: TokenProvider;
}

/** The token provider the configuration asks for. */
export function createTokenProvider(
  auth: RegistryConfig['auth'],
  timeoutMs: number,
  deps: Pick<RegistryClientDeps, 'logger' | 'now' | 'env' | 'secrets'> = {},
  maxResponseBytes?: number,
): TokenProvider {
  if (auth.type === 'static') return new StaticTokenProvider(auth.tokenEnv, deps.env);
  return new KeycloakTokenProvider({
    tokenUrl: auth.tokenUrl,
    secretId: auth.secretArn,
    // Built only for Keycloak, so a static-token setup never creates an AWS client.
    secrets: deps.secrets ?? secretsManagerSource(),
    timeoutMs,
    logger: deps.logger,
    now: deps.now,
    ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
  });
}

/** A `RegistryClient` for the configured registry, with the configured authentication. */
export function createRegistryClient(config: RegistryConfig, deps: RegistryClientDeps = {}): RegistryClient {
  return new RegistryClient({
    baseUrl: config.url,
    tokens: deps.tokens ?? createTokenProvider(config.auth, config.timeoutMs, deps, config.maxResponseBytes),
    timeoutMs: config.timeoutMs,
    maxAttempts: config.maxAttempts,
    reenableAfterWrite: config.reenableAfterWrite,
    ...(config.api === undefined ? {} : { api: config.api }),
    ...(config.maxResponseBytes === undefined ? {} : { maxResponseBytes: config.maxResponseBytes }),
    logger: deps.logger,
    sleep: deps.sleep,
    random: deps.random,
  });
}
