/**
 * The registry adapter behind `RegistryPort`: reads servers and agents, rewrites their address,
 * and reads them back to confirm. It speaks every registry generation (v1.0.16, 1.29, 1.32) with
 * one write rule (PATCH with If-Match first; the registry's answer decides), finding out once per
 * client which routes the registry offers unless `api` pins them. Each job is in its
 * own file: server reads (server-read.ts), server writes (server-write.ts), agents (agent.ts), the
 * compare-and-swap PATCH (patch.ts), the read-back (readback.ts) and the later verification
 * (verify.ts); this file holds the write loop that re-decides on a 412, and the factories.
 */
import type { ReconcilerConfig } from '../config';
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
} from '../ports';
import { type LoggerLike, SILENT_LOGGER } from '../telemetry';
import { readAgent, writeAgent } from './agent';
import { unchanged } from './answers';
import {
  KeycloakTokenProvider,
  type SecretGetter,
  type SecretSource,
  StaticTokenProvider,
  type TokenProvider,
} from './auth';
import { RegistryHttp } from './http';
import { RegistryPageReader } from './list';
import { secretsManagerSource } from './secrets';
import { readServer } from './server-read';
import { serverFieldsMayReset, writeServer } from './server-write';
import { type ClientState, initialRoutes, MAX_PAGE_SIZE, READ, type RegistryClientOptions } from './state';
import { verifyWrite } from './verify';

export type { RegistryClientOptions } from './state';

/** The MCP Gateway Registry over its public HTTP API (through nginx, with a bearer token). */
export class RegistryClient implements RegistryPort {
  private readonly state: ClientState;
  private readonly maxConflicts: number;

  constructor(options: RegistryClientOptions) {
    const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    this.maxConflicts = options.maxConflicts ?? 3;
    this.state = {
      http: new RegistryHttp(options),
      logger: options.logger ?? SILENT_LOGGER,
      options,
      pageSize,
      routes: initialRoutes(options.api ?? 'auto'),
    };
  }

  /** The paged list reads (the fan-out's resync shards), over this client's HTTP and token. */
  pages(): RegistryPageReader {
    return new RegistryPageReader(this.state.http);
  }

  /** Reads one server or agent. Throws `EntryNotFoundError` when the registry has none at the exact path. */
  async readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry> {
    return ref.kind === 'server'
      ? readServer(this.state, ref, ctx, READ)
      : readAgent(this.state, ref, ctx, READ);
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
      this.state.logger.debug('address unchanged; not writing', { kind: entry.kind, path: entry.path });
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
          ? await writeServer(this.state, current, target, ctx, forms)
          : await writeAgent(this.state, current, target, ctx);
      if (outcome !== 'conflict') return outcome;
      // Someone changed the entry since we read it: read it again and decide again, never overwrite.
      const fresh = await this.readEntry(current, ctx);
      this.state.logger.warn('registry answered 412: the entry changed since it was read; deciding again', {
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
    return serverFieldsMayReset(this.state, entry);
  }

  /**
   * Reads the entry again (some time after a write: the registry scans in the background) and says
   * whether the scan disabled it (`security-pending`) or a late scan wrote an older address back.
   * Never re-enables and never writes.
   */
  verifyWrite(ref: EntryRef, written: string, ctx: CallContext): Promise<WriteVerification> {
    return verifyWrite(this.state, ref, written, ctx);
  }
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
