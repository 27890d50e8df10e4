/**
 * The registry adapter behind `RegistryPort`: reads servers and agents, rewrites their address,
 * and reads them back to confirm. It speaks the registry's HTTP API as v1.0.16 and the newer mainline serve it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ReconcilerConfig } from '../config';
import { EntryNotFoundError, PermanentError } from '../errors';
import type { ApiName, CallContext, EntryRef, RegistryEntry, RegistryPort, WriteResult } from '../ports';
import { splitUrl } from '../url';
import {
  KeycloakTokenProvider,
  type SecretGetter,
  type SecretSource,
  StaticTokenProvider,
  type TokenProvider,
} from './auth';
import { describeRequest, RegistryHttp, type RegistryHttpOptions, RegistryResponseError } from './http';
import { asRecord } from './json';
import { type RegistryLogger, SILENT_LOGGER } from './logger';
import { agentUpdateBody, fieldsResetByRewrite, serverRegistrationForm } from './rewrite';
import { powertoolsSecretSource } from './secrets';

/** The HTTP options plus what the client itself decides. */
export interface RegistryClientOptions extends RegistryHttpOptions {
  /** Re-enable a server the registry disabled after our write. Overrides a security control. */
  reenableAfterWrite: boolean;
  /** Servers asked for per page of `GET /api/servers` (the registry allows at most 500). */
  pageSize?: number;
}

/** Whether a read is the first look at an entry or the confirmation after a write. */
interface ReadPhase {
  api: Extract<ApiName, 'registry.read' | 'registry.readBack'>;
  action: 'read' | 'read-back';
}
const READ: ReadPhase = { api: 'registry.read', action: 'read' };
const READ_BACK: ReadPhase = { api: 'registry.readBack', action: 'read-back' };

/** The registry's maximum page size. */
export const MAX_PAGE_SIZE = 500;
/** A registry that keeps saying "more" past this many pages is broken; stop instead of looping. */
const MAX_PAGES = 10_000;

/** Server fields a rewrite changes on purpose, or the registry changes by itself on every write. */
const SERVER_FIELDS_EXPECTED_TO_CHANGE = new Set([
  'proxy_pass_url',
  'mcp_endpoint',
  'sse_endpoint',
  'is_enabled',
  'health_status',
  'last_checked_iso',
  'updated_at',
  // Lists every version with its proxy_pass_url.
  'versions',
]);
const AGENT_FIELDS_EXPECTED_TO_CHANGE = new Set(['url', 'updated_at', 'updatedAt']);

/**
 * Whether `GET /api/servers/{path}` exists. v1.0.16 has no such route and answers 404, the same
 * status a newer registry gives for a missing entry; so a 404 always falls back to the list, and
 * only "404 there, but found in the list" proves the route absent. Then it is not tried again.
 */
type SingleRoute = 'unknown' | 'present' | 'absent';

/** The MCP Gateway Registry over its public HTTP API (through nginx, with a bearer token). */
export class RegistryClient implements RegistryPort {
  private readonly http: RegistryHttp;
  private readonly logger: RegistryLogger;
  private readonly pageSize: number;
  private singleRoute: SingleRoute = 'unknown';

  constructor(private readonly options: RegistryClientOptions) {
    this.http = new RegistryHttp(options);
    this.logger = options.logger ?? SILENT_LOGGER;
    this.pageSize = options.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${this.pageSize}`);
    }
  }

  /** Reads one server or agent. Throws `EntryNotFoundError` when the registry has none at the exact path. */
  async readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry> {
    return ref.kind === 'server' ? this.readServer(ref, ctx, READ) : this.readAgent(ref, ctx, READ);
  }

  /**
   * Rewrites the entry's address to `newUrl`, re-sending every other field as read, then reads
   * the entry back. A server the registry switched off after the write is reported (and switched
   * back on only with `reenableAfterWrite`). Writing the address the entry already has is a no-op.
   */
  async writeUrl(entry: RegistryEntry, newUrl: string, ctx: CallContext): Promise<WriteResult> {
    const parts = splitUrl(newUrl);
    if (!parts || !/^https?:\/\/$/i.test(parts.scheme)) {
      throw new PermanentError(
        `cannot rewrite ${entry.kind} ${entry.path}: ${JSON.stringify(newUrl)} is not an http(s) URL`,
      );
    }
    if (newUrl === entry.url) {
      // Every write triggers a re-index, an nginx reload, a health check and maybe a security scan.
      this.logger.debug('address unchanged; not writing', { kind: entry.kind, path: entry.path });
      return { url: entry.url, confirmed: true, disabledAfterWrite: false, reenabled: false };
    }
    return entry.kind === 'server'
      ? this.writeServer(entry, newUrl, ctx)
      : this.writeAgent(entry, newUrl, ctx);
  }

  private async readServer(ref: EntryRef, ctx: CallContext, phase: ReadPhase): Promise<RegistryEntry> {
    if (this.singleRoute !== 'absent') {
      const response = await this.http.send(
        {
          method: 'GET',
          path: `/api/servers${encodePath(ref.path)}`,
          entry: ref,
          ...phase,
          accept: [404, 405],
        },
        ctx,
      );
      const record = response.status === 200 ? asRecord(response.body) : undefined;
      // A record for another path (the registry also matches without/with the trailing slash) or
      // without proxy_pass_url (shown to admins only) is no use: the list decides.
      if (record?.path === ref.path && typeof record.proxy_pass_url === 'string') {
        this.singleRoute = 'present';
        return serverEntry(ref, record);
      }
    }
    const found = await this.scanServerList(ref, ctx, phase);
    if (found === undefined) throw new EntryNotFoundError('server', ref.path);
    if (this.singleRoute === 'unknown') {
      this.singleRoute = 'absent';
      this.logger.info('registry has no single-server route; reading servers from the list from now on');
    }
    return found;
  }

  /** Walks `GET /api/servers` page by page until the exact path turns up or the pages run out. */
  private async scanServerList(
    ref: EntryRef,
    ctx: CallContext,
    phase: ReadPhase,
  ): Promise<RegistryEntry | undefined> {
    let offset = 0;
    let total: number | undefined;
    let restarted = false;
    let nearMiss: string | undefined;
    for (let page = 1; ; page++) {
      const request = {
        method: 'GET',
        path: `/api/servers?limit=${this.pageSize}&offset=${offset}`,
        entry: ref,
        ...phase,
      } as const;
      if (page > MAX_PAGES) {
        throw new RegistryResponseError(`${describeRequest(request)}: still more pages after ${MAX_PAGES}`);
      }
      const body = asRecord((await this.http.send(request, ctx)).body);
      const servers = body?.servers;
      if (body === undefined || !Array.isArray(servers)) {
        throw new RegistryResponseError(`${describeRequest(request)}: the answer has no "servers" list`);
      }
      for (const item of servers) {
        const record = asRecord(item);
        if (record?.path === ref.path) return serverEntry(ref, record);
        if (typeof record?.path === 'string' && sameButTrailingSlash(record.path, ref.path))
          nearMiss = record.path;
      }
      const totalCount = typeof body.total_count === 'number' ? body.total_count : undefined;
      if (totalCount !== undefined && total !== undefined && totalCount !== total && !restarted) {
        // Servers were added or removed while paging, so the pages shifted: look once more from the start.
        restarted = true;
        offset = 0;
        total = undefined;
        continue;
      }
      total = totalCount;
      // v1.0.16 ignores limit/offset and answers with every server at once, without paging fields.
      const hasNext =
        typeof body.has_next === 'boolean'
          ? body.has_next
          : totalCount !== undefined && offset + servers.length < totalCount;
      if (!hasNext || servers.length === 0) break;
      offset += servers.length;
    }
    if (nearMiss !== undefined) this.warnNearMiss(ref, nearMiss);
    return undefined;
  }

  private warnNearMiss(ref: EntryRef, stored: string): void {
    // Writing to the other spelling fails with a 500 in the registry: the target's path must change.
    this.logger.warn('registry has the entry under a path that differs only in the trailing slash', {
      kind: ref.kind,
      path: ref.path,
      registryPath: stored,
    });
  }

  private async writeServer(entry: RegistryEntry, newUrl: string, ctx: CallContext): Promise<WriteResult> {
    const form = serverRegistrationForm(entry, newUrl);
    const reset = fieldsResetByRewrite(entry.record);
    if (reset.length > 0) {
      this.logger.warn('registry did not show these fields; the rewrite resets them to its defaults', {
        path: entry.path,
        fields: reset,
      });
    }
    await this.http.send(
      { method: 'POST', path: '/api/servers/register', form, api: 'registry.write', entry, action: 'write' },
      ctx,
    );
    const after = await this.readServer(entry, ctx, READ_BACK);
    const confirmed = this.checkReadBack(entry, after, newUrl, SERVER_FIELDS_EXPECTED_TO_CHANGE);
    const disabledAfterWrite = entry.enabled === true && after.enabled === false;
    let reenabled = false;
    if (disabledAfterWrite) {
      this.logger.warn('registry disabled the server after the write (its security scan?)', {
        path: entry.path,
        reenableAfterWrite: this.options.reenableAfterWrite,
      });
      if (this.options.reenableAfterWrite) {
        const form = new URLSearchParams({ path: entry.path, new_state: 'true' });
        await this.http.send(
          {
            method: 'POST',
            path: '/api/servers/toggle',
            form,
            api: 'registry.toggle',
            entry,
            action: 'toggle',
          },
          ctx,
        );
        reenabled = true;
        this.logger.warn('re-enabled the server (reenableAfterWrite is on)', { path: entry.path });
      }
    }
    return { url: after.url, confirmed, disabledAfterWrite, reenabled };
  }

  private async readAgent(ref: EntryRef, ctx: CallContext, phase: ReadPhase): Promise<RegistryEntry> {
    const request = {
      method: 'GET',
      path: `/api/agents${encodePath(ref.path)}`,
      entry: ref,
      ...phase,
    } as const;
    const response = await this.http.send({ ...request, accept: [404] }, ctx);
    if (response.status === 404) throw new EntryNotFoundError('agent', ref.path);
    const record = asRecord(response.body);
    if (record === undefined || typeof record.url !== 'string') {
      throw new RegistryResponseError(
        `${describeRequest(request)}: the answer is not an agent card with a url`,
      );
    }
    if (typeof record.path === 'string' && record.path !== ref.path) {
      this.warnNearMiss(ref, record.path);
      throw new EntryNotFoundError('agent', ref.path);
    }
    return { kind: 'agent', path: ref.path, url: record.url, record };
  }

  private async writeAgent(entry: RegistryEntry, newUrl: string, ctx: CallContext): Promise<WriteResult> {
    const json = agentUpdateBody(entry, newUrl);
    const response = await this.http.send(
      {
        method: 'PUT',
        path: `/api/agents${encodePath(entry.path)}`,
        json,
        api: 'registry.write',
        entry,
        action: 'write',
        accept: [404],
      },
      ctx,
    );
    if (response.status === 404) throw new EntryNotFoundError('agent', entry.path);
    const after = await this.readAgent(entry, ctx, READ_BACK);
    const confirmed = this.checkReadBack(entry, after, newUrl, AGENT_FIELDS_EXPECTED_TO_CHANGE);
    return { url: after.url, confirmed, disabledAfterWrite: false, reenabled: false };
  }

  /** Whether the read-back shows `newUrl`; logs fields the registry changed that we did not. */
  private checkReadBack(
    before: RegistryEntry,
    after: RegistryEntry,
    newUrl: string,
    expectedToChange: ReadonlySet<string>,
  ): boolean {
    const confirmed = after.url === newUrl;
    if (!confirmed) {
      this.logger.warn('read-back shows another address than the one written', {
        kind: before.kind,
        path: before.path,
        written: newUrl,
        readBack: after.url,
      });
    }
    const changed = changedFields(before.record, after.record, expectedToChange);
    if (changed.length > 0) {
      // Names only: values may be large, and the caller has the records.
      this.logger.warn('registry changed fields besides the address on rewrite', {
        kind: before.kind,
        path: before.path,
        fields: changed,
      });
    }
    return confirmed;
  }
}

/** The `registry` part of the validated configuration. */
export type RegistryConfig = ReconcilerConfig['registry'];

/** Everything `createRegistryClient` would otherwise take from the process or build itself. */
export interface RegistryClientDeps {
  logger?: RegistryLogger;
  /** Waits between retries; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Clock for token expiry, epoch ms. */
  now?: () => number;
  /** Environment for the static token; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Keycloak client credentials; a Powertools `SecretsProvider` (cached) by default. */
  secrets?: SecretSource | SecretGetter;
  /** Replaces the token provider the configuration would give. */
  tokens?: TokenProvider;
}

/** The token provider the configuration asks for. */
export function createTokenProvider(
  auth: RegistryConfig['auth'],
  timeoutMs: number,
  deps: Pick<RegistryClientDeps, 'logger' | 'now' | 'env' | 'secrets'> = {},
): TokenProvider {
  if (auth.type === 'static') return new StaticTokenProvider(auth.tokenEnv, deps.env);
  return new KeycloakTokenProvider({
    tokenUrl: auth.tokenUrl,
    secretId: auth.secretArn,
    // Built only for Keycloak, so a static-token setup never creates an AWS client.
    secrets: deps.secrets ?? powertoolsSecretSource(),
    timeoutMs,
    logger: deps.logger,
    now: deps.now,
  });
}

/** A `RegistryClient` for the configured registry, with the configured authentication. */
export function createRegistryClient(config: RegistryConfig, deps: RegistryClientDeps = {}): RegistryClient {
  return new RegistryClient({
    baseUrl: config.url,
    tokens: deps.tokens ?? createTokenProvider(config.auth, config.timeoutMs, deps),
    timeoutMs: config.timeoutMs,
    maxAttempts: config.maxAttempts,
    reenableAfterWrite: config.reenableAfterWrite,
    logger: deps.logger,
    sleep: deps.sleep,
    random: deps.random,
  });
}

function serverEntry(ref: EntryRef, record: Record<string, unknown>): RegistryEntry {
  const url = record.proxy_pass_url;
  if (typeof url !== 'string' || url === '') {
    // A non-admin token sees no proxy_pass_url: the M2M client must be in registry-admins.
    throw new RegistryResponseError(
      `registry shows no proxy_pass_url for server ${ref.path}: the token needs registry admin rights`,
    );
  }
  const enabled = typeof record.is_enabled === 'boolean' ? record.is_enabled : undefined;
  return { kind: 'server', path: ref.path, url, ...(enabled === undefined ? {} : { enabled }), record };
}

/** Field names whose values differ between two records, ignoring `ignore`. */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  ignore: ReadonlySet<string> = new Set(),
): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names]
    .filter((name) => !ignore.has(name) && !isDeepStrictEqual(before[name], after[name]))
    .sort();
}

/** `/currenttime/` → `/currenttime/`, each segment percent-encoded, slashes (and the trailing one) kept. */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function sameButTrailingSlash(a: string, b: string): boolean {
  return a !== b && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
