/**
 * The registry adapter behind `RegistryPort`: reads servers and agents, rewrites their address,
 * and reads them back to confirm. It speaks both registry generations (v1.0.16 and 1.2x), finding
 * out once per client which routes the registry offers unless `api` pins them.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ReconcilerConfig } from '../config';
import { type HostForms, splitUrl } from '../core/url';
import { EntryNotFoundError, PermanentError, PolicyDeniedError, WriteConflictError } from '../errors';
import type {
  ApiName,
  CallContext,
  EntryRef,
  RegistryEntry,
  RegistryPort,
  WriteOptions,
  WriteResult,
  WriteRoute,
  WriteVerification,
} from '../ports';
import {
  KeycloakTokenProvider,
  type SecretGetter,
  type SecretSource,
  StaticTokenProvider,
  type TokenProvider,
} from './auth';
import { weakEtagOf } from './etag';
import {
  describeRequest,
  RegistryHttp,
  type RegistryHttpOptions,
  type RegistryRequest,
  type RegistryResponse,
  RegistryResponseError,
  RegistryUnavailableError,
} from './http';
import { asRecord } from './json';
import { type RegistryLogger, SILENT_LOGGER } from './logger';
import { policyBlocksByDefault, policyRefusal, REGISTER_FAILED_DETAIL } from './policy';
import { agentUpdateBody, fieldsResetByRewrite, rewriteEndpoint, serverRegistrationForm } from './rewrite';
import { powertoolsSecretSource } from './secrets';

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

/** The registry generations whose contracts the client speaks (see README, "Compatibility"). */
export type RegistryGeneration = '1.0.16' | '1.29';
/** `registry.api`: a generation, or `auto`. */
export type RegistryApi = 'auto' | RegistryGeneration;

/** The tag the registry's security scan puts on a server it switched off. */
export const SECURITY_PENDING_TAG = 'security-pending';

/** A route's presence: learnt once per client (container) from the registry's answers, or pinned. */
type Presence = 'unknown' | 'present' | 'absent';

/** Whether a read is the first look at an entry or the confirmation after a write. */
interface ReadPhase {
  api: Extract<ApiName, 'registry.read' | 'registry.readBack'>;
  action: 'read' | 'read-back' | 'verify';
}
const READ: ReadPhase = { api: 'registry.read', action: 'read' };
const READ_BACK: ReadPhase = { api: 'registry.readBack', action: 'read-back' };
const VERIFY: ReadPhase = { api: 'registry.read', action: 'verify' };
/** Fields a register-overwrite on 1.2x always resets, whatever is sent. */
const REGISTER_RESETS_1_2X = ['id', 'registered_by'];
/** Fields PUT of an agent resets on 1.2x. */
const PUT_RESETS_1_2X = ['id'];

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

/** The MCP Gateway Registry over its public HTTP API (through nginx, with a bearer token). */
export class RegistryClient implements RegistryPort {
  private readonly http: RegistryHttp;
  private readonly logger: RegistryLogger;
  private readonly pageSize: number;
  private readonly maxConflicts: number;
  /**
   * Whether `GET /api/servers/{path}` exists. v1.0.16 has no such route and answers 404, the same
   * status a newer registry gives for a missing entry; so a 404 always falls back to the list, and
   * only "404 there, but found in the list" proves the route absent. Then it is not tried again.
   */
  private singleRoute: Presence;
  /** `PATCH /api/servers/{path}` (1.2x). Learnt from a 404/405 to a PATCH. */
  private serverPatch: Presence;
  /** `PATCH /api/agents/{path}` (1.2x, which also sends an agent `ETag`). */
  private agentPatch: Presence;

  constructor(private readonly options: RegistryClientOptions) {
    this.http = new RegistryHttp(options);
    const api = options.api ?? 'auto';
    const pinned: Presence = api === 'auto' ? 'unknown' : api === '1.29' ? 'present' : 'absent';
    this.singleRoute = pinned;
    this.serverPatch = pinned;
    this.agentPatch = pinned;
    this.maxConflicts = options.maxConflicts ?? 3;
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
          ? await this.writeServer(current, target, ctx, forms)
          : await this.writeAgent(current, target, ctx);
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

  /**
   * Reads the entry again (some time after a write: the registry scans in the background) and says
   * whether the scan disabled it (`security-pending`) or a late scan wrote an older address back.
   * Never re-enables and never writes.
   */
  async verifyWrite(ref: EntryRef, written: string, ctx: CallContext): Promise<WriteVerification> {
    const entry =
      ref.kind === 'server'
        ? await this.readServer(ref, ctx, VERIFY)
        : await this.readAgent(ref, ctx, VERIFY);
    const disabled = entry.enabled === false;
    const verification: WriteVerification = {
      url: entry.url,
      confirmed: entry.url === written,
      disabledSecurityPending: disabled && entry.securityPending === true,
      disabled,
      addressWrittenBack: entry.url !== written,
      entry,
    };
    if (verification.disabled || verification.addressWrittenBack) {
      this.logger.warn('the entry changed after our write settled', {
        kind: ref.kind,
        path: ref.path,
        written,
        now: entry.url,
        disabled,
        securityPending: verification.disabledSecurityPending,
      });
    }
    return verification;
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
      if (this.options.api === '1.29' && response.status === 200 && record?.path === ref.path) {
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
    extraQuery = '',
  ): Promise<RegistryEntry | undefined> {
    let offset = 0;
    let total: number | undefined;
    let restarted = false;
    let nearMiss: string | undefined;
    for (let page = 1; ; page++) {
      const request = {
        method: 'GET',
        path: `/api/servers?limit=${this.pageSize}&offset=${offset}${extraQuery}`,
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

  /** The route for a server write: PATCH where the registry has it and can apply it, else register. */
  private serverRoute(entry: RegistryEntry): 'patch' | 'register' {
    // 1.2x strips a stored trailing slash before its update, which then matches nothing (500).
    if (entry.path.endsWith('/')) return 'register';
    if (this.serverPatch === 'absent' || entry.etag === undefined) return 'register';
    return 'patch';
  }

  private async writeServer(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    hostForms: HostForms | undefined,
  ): Promise<WriteResult | 'conflict'> {
    if (this.serverRoute(entry) === 'patch') {
      const patch: Record<string, unknown> = { proxy_pass_url: newUrl };
      for (const field of ['mcp_endpoint', 'sse_endpoint'] as const) {
        const value = entry.record[field];
        if (typeof value === 'string' && value !== '') {
          const moved = rewriteEndpoint(value, entry.url, newUrl, hostForms);
          if (moved !== value) patch[field] = moved;
        }
      }
      const outcome = await this.patch(entry, patch, newUrl, ctx, `/api/servers${encodePath(entry.path)}`);
      if (outcome === 'conflict') return outcome;
      if (outcome === 'written') {
        this.serverPatch = 'present';
        return this.afterServerWrite(entry, newUrl, ctx, 'patch', []);
      }
      if (outcome === 'absent') {
        this.serverPatch = 'absent';
        this.logger.info('registry has no PATCH for servers; writing by register-overwrite from now on');
      }
      // 'unsaved': the registry could not apply the patch to this record; register can.
    }
    return this.registerServer(entry, newUrl, ctx, hostForms);
  }

  /** Register-overwrite, re-sending every field the registry would otherwise reset. */
  private async registerServer(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    hostForms: HostForms | undefined,
  ): Promise<WriteResult> {
    const tags = Array.isArray(entry.record.tags) ? entry.record.tags : [];
    if (tags.includes(SECURITY_PENDING_TAG)) {
      // Register re-sends the tags as the operator's: the scan's marker would become permanent.
      throw new PermanentError(
        `cannot rewrite server ${entry.path} by register-overwrite: it is tagged ${SECURITY_PENDING_TAG} (the registry's security scan disabled it), and register would re-send that tag as the operator's; let the registry re-scan it or clear the tag, then the next resync writes`,
      );
    }
    const current1x = isCurrentGeneration(entry.record);
    const record = current1x ? await this.withStoredToolCount(entry, ctx) : entry.record;
    const resets = current1x ? [...REGISTER_RESETS_1_2X] : fieldsResetByRewrite(entry.record);
    if (current1x && !Array.isArray(record.tool_list) && Number(record.num_tools) > 0)
      resets.push('tool_list');
    const form = serverRegistrationForm({ ...entry, record }, newUrl, hostForms);
    if (typeof record.visibility === 'string' && record.visibility !== '')
      form.set('visibility', record.visibility);
    if (resets.length > 0) {
      this.logger.warn(
        'register-overwrite resets these fields (the registry did not show them, or always resets them to its defaults)',
        { path: entry.path, fields: resets },
      );
    }
    const policyCovers = this.hasPolicy(entry) && policyBlocksByDefault(newUrl);
    try {
      await this.http.send(
        {
          method: 'POST',
          path: '/api/servers/register',
          form,
          api: 'registry.write',
          entry,
          action: 'write',
          // The policy's refusal is a bare 500 here: once more at most, to tell it from a transient fault.
          ...(policyCovers ? { maxAttempts: 2 } : {}),
        },
        ctx,
      );
    } catch (error) {
      if (
        policyCovers &&
        error instanceof RegistryUnavailableError &&
        error.status === 500 &&
        error.message.includes(REGISTER_FAILED_DETAIL)
      ) {
        throw new PolicyDeniedError(
          'server',
          entry.path,
          newUrl,
          `register answered 500 ${REGISTER_FAILED_DETAIL} twice for a private address, which is how it words the policy's refusal`,
        );
      }
      throw error;
    }
    return this.afterServerWrite(entry, newUrl, ctx, 'register', resets);
  }

  /**
   * The record with the stored `num_tools`: 1.2x's single read shows an empty `tool_list`, and
   * register stores the length of a `tool_list_json` sent; the list read with
   * `include_tools=false` shows the stored count. An empty `tool_list` is then not re-sent.
   */
  private async withStoredToolCount(
    entry: RegistryEntry,
    ctx: CallContext,
  ): Promise<Record<string, unknown>> {
    const listed = await this.scanServerList(entry, ctx, READ, '&include_tools=false');
    const stored = listed?.record.num_tools;
    const record = { ...entry.record };
    if (typeof stored === 'number' && Number.isInteger(stored)) record.num_tools = stored;
    const tools = record.tool_list;
    if (Array.isArray(tools) && tools.length !== record.num_tools) delete record.tool_list;
    return record;
  }

  /** Whether this registry has the URL security policy (1.26+; every registry with the single read here). */
  private hasPolicy(entry: RegistryEntry): boolean {
    return (
      this.options.api === '1.29' || (this.options.api !== '1.0.16' && isCurrentGeneration(entry.record))
    );
  }

  /**
   * One compare-and-swap PATCH. `written`; `conflict` (412); `absent` (the route does not exist);
   * `unsaved` (1.2x's 500 "Failed to save server"). Throws `PolicyDeniedError` on the policy's 400.
   */
  private async patch(
    entry: RegistryEntry,
    json: Record<string, unknown>,
    newUrl: string,
    ctx: CallContext,
    path: string,
  ): Promise<'written' | 'conflict' | 'absent' | 'unsaved'> {
    const request: RegistryRequest = {
      method: 'PATCH',
      path,
      json,
      api: 'registry.write',
      entry,
      action: 'write',
      headers: entry.etag === undefined ? {} : { 'if-match': entry.etag },
      accept: [400, 404, 405, 412, 500],
      // A lost answer to a retried PATCH comes back as 412 and is re-decided: safe, but rarely worth it.
      maxAttempts: 2,
    };
    const response = await this.http.send(request, ctx);
    if (response.status >= 200 && response.status < 300) return 'written';
    if (response.status === 412) return 'conflict';
    if (response.status === 405 || (response.status === 404 && isRouteMissing(response))) return 'absent';
    const refusal = policyRefusal(response.body);
    if (response.status === 400 && refusal !== undefined) {
      throw new PolicyDeniedError(entry.kind, entry.path, newUrl, refusal);
    }
    if (response.status === 500 && detailText(response) === 'Failed to save server') return 'unsaved';
    if (response.status === 404) throw new EntryNotFoundError(entry.kind, entry.path);
    if (response.status === 500) {
      throw new RegistryUnavailableError(`${describeRequest(request)}: HTTP 500 (${detailText(response)})`, {
        status: 500,
      });
    }
    throw new PermanentError(
      `${describeRequest(request)}: HTTP ${response.status} (${detailText(response)})`,
    );
  }

  private async afterServerWrite(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    route: WriteRoute,
    resets: string[],
  ): Promise<WriteResult> {
    const after = await this.readServer(entry, ctx, READ_BACK);
    const expected = new Set([...SERVER_FIELDS_EXPECTED_TO_CHANGE, ...resets, 'num_tools', 'tool_list']);
    const confirmed = this.checkReadBack(entry, after, newUrl, expected);
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
    return { url: after.url, confirmed, disabledAfterWrite, reenabled, route, resets };
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
    if (response.etag !== undefined && this.agentPatch === 'unknown') this.agentPatch = 'present';
    // A2A reverse-proxy mode (1.27+): `url` is the gateway's; the backend address is `proxy_pass_url`.
    const backend = agentBackendField(record);
    return {
      kind: 'agent',
      path: ref.path,
      url: record[backend] as string,
      record,
      ...(response.etag === undefined ? {} : { etag: response.etag }),
    };
  }

  private async writeAgent(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
  ): Promise<WriteResult | 'conflict'> {
    const field = agentBackendField(entry.record);
    const path = `/api/agents${encodePath(entry.path)}`;
    let route: WriteRoute = 'put';
    let resets: string[] = [];
    if (entry.etag !== undefined && this.agentPatch !== 'absent') {
      const outcome = await this.patch(entry, { [field]: newUrl }, newUrl, ctx, path);
      if (outcome === 'conflict') return outcome;
      if (outcome === 'written') route = 'patch';
      else if (outcome === 'absent') this.agentPatch = 'absent';
    }
    if (route === 'put') {
      const json = agentUpdateBody(entry, newUrl);
      if (field === 'proxy_pass_url') {
        json.url = entry.record.url;
        json.proxy_pass_url = newUrl;
      }
      resets = typeof entry.record.id === 'string' ? [...PUT_RESETS_1_2X] : [];
      const response = await this.http.send(
        { method: 'PUT', path, json, api: 'registry.write', entry, action: 'write', accept: [400, 404] },
        ctx,
      );
      if (response.status === 404) throw new EntryNotFoundError('agent', entry.path);
      if (response.status === 400) {
        const refusal = policyRefusal(response.body);
        if (refusal !== undefined) throw new PolicyDeniedError('agent', entry.path, newUrl, refusal);
        throw new PermanentError(
          `registry write of agent ${entry.path} (PUT ${path}): HTTP 400 (${detailText(response)})`,
        );
      }
    }
    const after = await this.readAgent(entry, ctx, READ_BACK);
    const expected = new Set([...AGENT_FIELDS_EXPECTED_TO_CHANGE, 'proxy_pass_url', ...resets]);
    const confirmed = this.checkReadBack(entry, after, newUrl, expected);
    return { url: after.url, confirmed, disabledAfterWrite: false, reenabled: false, route, resets };
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
export type RegistryConfig = Omit<
  ReconcilerConfig['registry'],
  'api' | 'maxResponseBytes' | 'verifyAfterMs'
> &
  Partial<Pick<ReconcilerConfig['registry'], 'api' | 'maxResponseBytes' | 'verifyAfterMs'>>;

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
  maxResponseBytes?: number,
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

function serverEntry(ref: EntryRef, record: Record<string, unknown>): RegistryEntry {
  const url = record.proxy_pass_url;
  if (typeof url !== 'string' || url === '') {
    // A non-admin token sees no proxy_pass_url: the M2M client must be in registry-admins.
    throw new RegistryResponseError(
      `registry shows no proxy_pass_url for server ${ref.path}: the token needs registry admin rights`,
    );
  }
  const enabled = typeof record.is_enabled === 'boolean' ? record.is_enabled : undefined;
  const tags = Array.isArray(record.tags) ? record.tags : [];
  const etag = weakEtagOf(record);
  return {
    kind: 'server',
    path: ref.path,
    url,
    ...(enabled === undefined ? {} : { enabled }),
    record,
    securityPending: enabled === false && tags.includes(SECURITY_PENDING_TAG),
    ...(etag === undefined ? {} : { etag }),
  };
}

/** The result of a write that did not happen: the entry already has the address. */
function unchanged(entry: RegistryEntry): WriteResult {
  return {
    url: entry.url,
    confirmed: true,
    disabledAfterWrite: false,
    reenabled: false,
    route: 'none',
    resets: [],
  };
}

/** A 1.2x record (DocumentDB): it carries `id` and `updated_at`, which v1.0.16's reads never show. */
function isCurrentGeneration(record: Record<string, unknown>): boolean {
  return typeof record.updated_at === 'string' || typeof record.id === 'string';
}

/** Which agent field holds the backend address: `proxy_pass_url` in A2A reverse-proxy mode, else `url`. */
function agentBackendField(record: Record<string, unknown>): 'url' | 'proxy_pass_url' {
  return typeof record.proxy_pass_url === 'string' && record.proxy_pass_url !== '' ? 'proxy_pass_url' : 'url';
}

/** FastAPI's own 404/405 for a path no route matches (`{"detail":"Not Found"}`), not an entry's absence. */
function isRouteMissing(response: RegistryResponse): boolean {
  return detailText(response) === 'Not Found';
}

function detailText(response: RegistryResponse): string {
  const detail = (response.body as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' ? detail.slice(0, 200) : `HTTP ${response.status}`;
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
