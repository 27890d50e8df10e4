/**
 * Servers: reading one, writing its address, and the compare-and-swap PATCH and URL policy that
 * agents share.
 *
 * Reading a server: the single-record route where the registry has it, else the (paged) list.
 *
 * Writing a server, one rule on every registry generation: PATCH with the entry's tag in
 * `If-Match` first, whatever the path; the registry's answer decides what follows.
 * - 2xx: written. 412: the entry changed since it was read (the caller reads again and decides
 *   again). The URL policy's 400: `PolicyDeniedError`, attempted once.
 * - 1.29's `500 Failed to save server` (a stored trailing slash its update cannot match): the
 *   If-Match and the policy have just passed, so register-overwrite at once, re-sending every field.
 * - 404/405 from the route itself: no PATCH here (v1.0.16): register-overwrite from then on.
 * Then the read-back, the exact list of what the write reset, and the re-enable when opted in.
 *
 * Which of these routes the registry has is learnt once per `ServerApi`, that is per client and so
 * per Lambda container, and kept in its own fields.
 */
import { isIP } from 'node:net';
import { type HostForms, splitUrl } from '../core/url';
import { EntryNotFoundError, PermanentError, PolicyDeniedError } from '../errors';
import type { CallContext, EntryRef, RegistryEntry, WriteResult, WriteRoute } from '../reconcile/ports';
import type { LoggerLike } from '../telemetry/telemetry';
import type { Presence, RegistryApi } from './client';
import {
  asRecord,
  describeRequest,
  detailText,
  encodePath,
  hasNextPage,
  isRouteMissing,
  READ,
  READ_BACK,
  type ReadPhase,
  type RegistryHttp,
  type RegistryRequest,
  RegistryResponseError,
  RegistryUnavailableError,
} from './http';
import {
  changedFields,
  fieldsHiddenFromRead,
  followedEndpoints,
  REGISTER_REPLACES_1_2X,
  SERVER_FIELDS_CHANGING_BY_THEMSELVES,
  serverRegistrationForm,
} from './rewrite';

/** The tag the registry's security scan puts on a server it switched off. */
export const SECURITY_PENDING_TAG = 'security-pending';

/** A registry that keeps saying "more" past this many pages is broken; stop instead of looping. */
const MAX_PAGES = 10_000;

/** What the register route is told about the PATCH that came before it. */
type PolicyKnown = 'passed' | 'unknown';

/** What `ServerApi` takes from the client's options. */
export interface ServerSettings {
  /** The pinned generation, or `auto`. */
  api: RegistryApi;
  /** Servers asked for per page of `GET /api/servers`. */
  pageSize: number;
  /** Re-enable a server the registry disabled after our write. Overrides a security control. */
  reenableAfterWrite: boolean;
}

/** The server routes of one registry, and what the client has learnt about them. */
export class ServerApi {
  /**
   * Whether `GET /api/servers/{path}` exists. v1.0.16 has no such route and answers 404, the same
   * status a newer registry gives for a missing entry; so a 404 always falls back to the list, and
   * only "404 there, but found in the list" proves the route absent. Then it is not tried again.
   */
  private singleRoute: Presence;
  /** `PATCH /api/servers/{path}` (1.2x). Learnt from a 404/405 to a PATCH. */
  private patchRoute: Presence;

  constructor(
    private readonly http: RegistryHttp,
    private readonly logger: LoggerLike,
    private readonly settings: ServerSettings,
    /** Both routes' presence at the start: as `api` pins them, or unknown. */
    routes: Presence,
  ) {
    this.singleRoute = routes;
    this.patchRoute = routes;
  }

  /** Reads one server. Throws `EntryNotFoundError` when the registry has none at the exact path. */
  async read(ref: EntryRef, ctx: CallContext, phase: ReadPhase): Promise<RegistryEntry> {
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
      if (this.settings.api === '1.29' && response.status === 200 && record?.path === ref.path) {
        return serverEntry(ref, record);
      }
    }
    const found = await this.scanList(ref, ctx, phase);
    if (found === undefined) throw new EntryNotFoundError('server', ref.path);
    if (this.singleRoute === 'unknown') {
      this.singleRoute = 'absent';
      this.logger.info('registry has no single-server route; reading servers from the list from now on');
    }
    return found;
  }

  /** Walks `GET /api/servers` page by page until the exact path turns up or the pages run out. */
  private async scanList(
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
        path: `/api/servers?limit=${this.settings.pageSize}&offset=${offset}${extraQuery}`,
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
      if (!hasNextPage(body, offset, servers.length) || servers.length === 0) break;
      offset += servers.length;
    }
    if (nearMiss !== undefined) warnNearMiss(this.logger, ref, nearMiss);
    return undefined;
  }

  /** Writes the server's address by PATCH where the registry takes it, else register; then reads it back. `conflict` on a 412. */
  async write(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    hostForms: HostForms | undefined,
  ): Promise<WriteResult | 'conflict'> {
    let policy: PolicyKnown = 'unknown';
    if (this.patchRoute !== 'absent' && entry.etag !== undefined) {
      const patch: Record<string, unknown> = { proxy_pass_url: newUrl };
      for (const e of followedEndpoints(entry.record, entry.url, newUrl, hostForms))
        if (e.after !== e.before) patch[e.field] = e.after;
      const outcome = await patchEntry(
        this.http,
        entry,
        patch,
        newUrl,
        ctx,
        `/api/servers${encodePath(entry.path)}`,
      );
      if (outcome === 'conflict') return outcome;
      if (outcome === 'written') {
        this.patchRoute = 'present';
        return this.afterWrite(entry, newUrl, ctx, 'patch', hostForms, []);
      }
      if (outcome === 'absent') {
        this.patchRoute = 'absent';
        this.logger.info('registry has no PATCH for servers; writing by register-overwrite from now on');
      } else if (!entry.path.endsWith('/')) {
        // 'unsaved' where no stored trailing slash explains it: the repository's update failed (1.29
        // answers a database error so too). Nothing was saved; a later attempt may PATCH it.
        throw new RegistryUnavailableError(
          `registry write of server ${entry.path} (PATCH /api/servers${encodePath(entry.path)}): HTTP 500 (Failed to save server): the registry could not save it; retried later`,
          { status: 500 },
        );
      } else {
        // 'unsaved' on a path stored with a trailing slash: 1.29 checked the tag and the URL policy,
        // then its update could not match the slash. Nothing was saved, scanned or announced;
        // register can write the record.
        this.patchRoute = 'present';
        policy = 'passed';
        this.logger.info(
          'registry could not save the PATCH (1.29, path with a trailing slash) after its If-Match and URL policy passed; writing by register-overwrite at once',
          { path: entry.path },
        );
      }
    }
    return this.register(entry, newUrl, ctx, hostForms, policy);
  }

  /**
   * The fields a write of `entry` may reset without any read showing it, as known before writing
   * (for a dry run's record): a server that can only be written by register-overwrite and whose
   * reads hide fields (v1.0.16).
   */
  fieldsMayReset(entry: RegistryEntry): string[] {
    if (entry.kind !== 'server' || isCurrentGeneration(entry.record)) return [];
    if (this.patchRoute !== 'absent' && entry.etag !== undefined) return [];
    return fieldsHiddenFromRead(entry.record);
  }

  /** Register-overwrite, re-sending every field the registry would otherwise reset. */
  private async register(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    hostForms: HostForms | undefined,
    policy: PolicyKnown,
  ): Promise<WriteResult | 'conflict'> {
    const tags = Array.isArray(entry.record.tags) ? entry.record.tags : [];
    if (tags.includes(SECURITY_PENDING_TAG)) {
      // Register re-sends the tags as the operator's: the scan's marker would become permanent.
      throw new PermanentError(
        `cannot rewrite server ${entry.path} by register-overwrite: it is tagged ${SECURITY_PENDING_TAG} (the registry's security scan disabled it), and register would re-send that tag as the operator's; let the registry re-scan it or clear the tag, then the next resync writes`,
      );
    }
    const current1x = isCurrentGeneration(entry.record);
    const listed = current1x ? await this.scanList(entry, ctx, READ, '&include_tools=false') : undefined;
    const record = current1x ? withStoredToolCount(entry, listed) : entry.record;
    // Register has no precondition: look once more right before it (the list just read when it shows
    // the record's timestamps, as 1.29 does; else the single read), so that a change made since our
    // read, and since the PATCH's If-Match check, is re-decided, never overwritten. What remains is
    // the one round trip between this look's answer and register's save (1.32's PATCH has none).
    if (entry.etag !== undefined && (await this.changedSinceRead(entry, listed, ctx))) return 'conflict';
    const form = serverRegistrationForm({ ...entry, record }, newUrl, hostForms);
    const mayReset = current1x ? [] : fieldsHiddenFromRead(entry.record);
    if (mayReset.length > 0) {
      this.logger.warn(
        "register-overwrite may reset these fields: this registry's reads do not show them, so they cannot be re-sent (v1.0.16; its file backend replaces the whole record)",
        { path: entry.path, fields: mayReset },
      );
    }
    try {
      await this.http.send(
        {
          method: 'POST',
          path: '/api/servers/register',
          form,
          api: 'registry.write',
          entry,
          action: 'write',
        },
        ctx,
      );
    } catch (error) {
      // Register answers any failure inside it, the URL policy's refusal included, with this bare
      // 500. It is retried like any 5xx and never read as the policy: where PATCH ran first, the
      // policy has answered already; where there is no PATCH, a hint is all that can be given.
      if (
        policy === 'unknown' &&
        current1x &&
        error instanceof RegistryUnavailableError &&
        error.status === 500 &&
        error.message.includes(REGISTER_FAILED_DETAIL) &&
        policyBlocksByDefault(newUrl)
      ) {
        throw new RegistryUnavailableError(
          `${error.message}; register words every failure so, the URL policy's refusal included (1.26+): if the registry has the policy, SSRF_ALLOWED_CIDRS must cover ${newUrl}`,
          { status: 500, cause: error },
        );
      }
      throw error;
    }
    const replaced = current1x ? REGISTER_REPLACES_1_2X : [];
    // 1.2x stores `tool_list` [] when no `tool_list_json` is sent; its stored count says whether it had tools.
    const toolsDropped = current1x && !form.has('tool_list_json') && Number(record.num_tools) > 0;
    const result = await this.afterWrite(entry, newUrl, ctx, 'register', hostForms, [
      ...replaced,
      ...(toolsDropped ? ['tool_list'] : []),
    ]);
    return mayReset.length > 0 ? { ...result, mayReset } : result;
  }

  /**
   * Whether the entry's tag moved since `entry` was read: the last look before a register-overwrite.
   * `listed` (the list read just made) serves when it shows the record's timestamps.
   */
  private async changedSinceRead(
    entry: RegistryEntry,
    listed: RegistryEntry | undefined,
    ctx: CallContext,
  ): Promise<boolean> {
    const now = listed?.etag !== undefined ? listed : await this.read(entry, ctx, READ);
    if (now.etag === entry.etag) return false;
    this.logger.warn('the entry changed since it was read; not overwriting it by register', {
      path: entry.path,
      read: entry.etag,
      now: now.etag,
    });
    return true;
  }

  /**
   * The read-back, and what the write reset: the fields whose value differs between the read
   * before and the read-back (less the address and the endpoints we moved on purpose, and the
   * fields that change by themselves), plus `alwaysReplaced`, each named once.
   */
  private async afterWrite(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    route: WriteRoute,
    hostForms: HostForms | undefined,
    alwaysReplaced: readonly string[],
  ): Promise<WriteResult> {
    const after = await this.read(entry, ctx, READ_BACK);
    const moved = followedEndpoints(entry.record, entry.url, newUrl, hostForms)
      .filter((e) => e.after !== e.before)
      .map((e) => e.field);
    const intended = new Set(['proxy_pass_url', ...moved, ...SERVER_FIELDS_CHANGING_BY_THEMSELVES]);
    const confirmed = checkReadBack(this.logger, entry, after, newUrl);
    const changed = changedFields(entry.record, after.record, intended).filter(
      (field) => field !== 'tags' || !onlyScanTagAdded(entry.record.tags, after.record.tags),
    );
    const resets = [...new Set([...alwaysReplaced, ...changed])];
    if (resets.length > 0) {
      this.logger.warn('the write reset these fields', { path: entry.path, route, fields: resets });
    }
    const disabledAfterWrite = entry.enabled === true && after.enabled === false;
    let reenabled = false;
    if (disabledAfterWrite) {
      const { reenableAfterWrite } = this.settings;
      this.logger.warn('registry disabled the server after the write (its security scan?)', {
        path: entry.path,
        reenableAfterWrite,
      });
      if (reenableAfterWrite) {
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
  const etag = weakEtagOf(record);
  return {
    kind: 'server',
    path: ref.path,
    url,
    ...(enabled === undefined ? {} : { enabled }),
    record,
    securityPending: isSecurityPending(record),
    ...(etag === undefined ? {} : { etag }),
  };
}

/**
 * The record with the stored `num_tools`: 1.2x's single read shows an empty `tool_list`, and
 * register stores the length of a `tool_list_json` sent; the list read with
 * `include_tools=false` (`listed`) shows the stored count. An empty `tool_list` is then not re-sent.
 */
function withStoredToolCount(
  entry: RegistryEntry,
  listed: RegistryEntry | undefined,
): Record<string, unknown> {
  const stored = listed?.record.num_tools;
  const record = { ...entry.record };
  if (typeof stored === 'number' && Number.isInteger(stored)) record.num_tools = stored;
  const tools = record.tool_list;
  if (Array.isArray(tools) && tools.length !== record.num_tools) delete record.tool_list;
  return record;
}

/** The tags differ only by the scan's `security-pending` marker, added after the write (reported as the scan's, not a reset). */
function onlyScanTagAdded(before: unknown, after: unknown): boolean {
  if (!Array.isArray(before) || !Array.isArray(after)) return false;
  const withoutMarker = after.filter((tag) => tag !== SECURITY_PENDING_TAG);
  return (
    !before.includes(SECURITY_PENDING_TAG) &&
    withoutMarker.length === before.length &&
    withoutMarker.every((tag, i) => tag === before[i])
  );
}

// ---- what a record says ----

/** A 1.2x record (DocumentDB): it carries `id` and `updated_at`, which v1.0.16's reads never show. */
export function isCurrentGeneration(record: Record<string, unknown>): boolean {
  return typeof record.updated_at === 'string' || typeof record.id === 'string';
}

/** A record the registry's security scan disabled: `is_enabled` false and tagged `security-pending`. */
export function isSecurityPending(record: Record<string, unknown>): boolean {
  return (
    record.is_enabled === false && Array.isArray(record.tags) && record.tags.includes(SECURITY_PENDING_TAG)
  );
}

function sameButTrailingSlash(a: string, b: string): boolean {
  return a !== b && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

export function warnNearMiss(logger: LoggerLike, ref: EntryRef, stored: string): void {
  // Writing to the other spelling fails with a 500 in the registry: the target's path must change.
  logger.warn('registry has the entry under a path that differs only in the trailing slash', {
    kind: ref.kind,
    path: ref.path,
    registryPath: stored,
  });
}

// ---- the read-back right after a write: did it land ----

/** Whether the read-back shows `newUrl`; a warning when it shows another address. */
export function checkReadBack(
  logger: LoggerLike,
  before: RegistryEntry,
  after: RegistryEntry,
  newUrl: string,
): boolean {
  const confirmed = after.url === newUrl;
  if (!confirmed) {
    logger.warn('read-back shows another address than the one written', {
      kind: before.kind,
      path: before.path,
      written: newUrl,
      readBack: after.url,
    });
  }
  return confirmed;
}

// ---- one compare-and-swap PATCH (1.2x) and what its answer means; agents use it too ----

/**
 * What a PATCH did: `written`; `conflict` (412); `absent` (the route does not exist); `unsaved`
 * (1.2x's 500 "Failed to save server").
 */
export type PatchOutcome = 'written' | 'conflict' | 'absent' | 'unsaved';

/** PATCHes `json` onto the entry with its tag in `If-Match`. Throws `PolicyDeniedError` on the policy's 400. */
export async function patchEntry(
  http: RegistryHttp,
  entry: RegistryEntry,
  json: Record<string, unknown>,
  newUrl: string,
  ctx: CallContext,
  path: string,
): Promise<PatchOutcome> {
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
  const response = await http.send(request, ctx);
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
  throw new PermanentError(`${describeRequest(request)}: HTTP ${response.status} (${detailText(response)})`);
}

// ---- the URL policy ----
// The registry's URL security policy (1.26+, `registry/utils/url_guard.py`): an address whose host
// is a literal private or loopback IP is refused unless `SSRF_ALLOWED_CIDRS` / `SSRF_ALLOWED_HOSTS`
// cover it. PATCH and PUT say so in a 400; register wraps the refusal in a bare 500.

/** The words of the policy's 400 (`URL rejected by security policy: targets blocked/private IP 10.0.1.9`). */
export const POLICY_REFUSAL_PREFIX = 'URL rejected by security policy';
/** Register's answer when the policy (or anything else) failed inside it. */
export const REGISTER_FAILED_DETAIL = 'Service registration failed';

/** Whether the policy would block this address by default: its host is a private, loopback or link-local IP literal. */
export function policyBlocksByDefault(url: string): boolean {
  const host = splitUrl(url)
    ?.host.replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (host === undefined) return false;
  if (isIP(host) === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (isIP(host) === 6) {
    const h = host.toLowerCase();
    return h === '::1' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80');
  }
  return false;
}

/** The registry's `detail` when it is the policy's refusal. */
export function policyRefusal(body: unknown): string | undefined {
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' && detail.startsWith(POLICY_REFUSAL_PREFIX) ? detail : undefined;
}

// ---- the compare-and-swap tag ----
// The registry's compare-and-swap tag (1.2x): `W/"<updated_at as epoch milliseconds>"`. Server
// reads send no `ETag` header, so the tag is computed from the record's `updated_at`, the way the
// registry computes it: a naive ISO timestamp (`datetime.utcnow().isoformat()`, no zone) is read in
// the registry's own time zone, which is UTC in its containers; `Z` or an offset is honoured.

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Epoch ms as Python's `int(dt.timestamp() * 1000)` gives it, or undefined for an unreadable value. */
export function epochMsOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let seconds =
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? '0')) / 1000;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    seconds -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
  }
  // Python adds the microseconds as a float and truncates; doing the same keeps the tag equal.
  const micro = Number((frac ?? '').padEnd(6, '0'));
  return Math.trunc((seconds + micro / 1e6) * 1000);
}

/** The tag for a record: its `updated_at`, else its `registered_at`, or undefined for a record without timestamps (v1.0.16). */
export function weakEtagOf(record: Record<string, unknown>): string | undefined {
  const ms = epochMsOf(record.updated_at) ?? epochMsOf(record.registered_at);
  return ms === undefined ? undefined : `W/"${ms}"`;
}
