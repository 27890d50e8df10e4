/**
 * What registry 1.29 and 1.32 (DocumentDB) do differently from v1.0.16, on top of `RegistryStore`:
 * records with `id`, `registered_by`, `updated_at`; the single read without an `ETag` and with an
 * empty `tool_list`; PATCH with a weak `If-Match` (on 1.29 its trailing-slash 500); register's
 * resets and the URL policy's bare 500; agents with an `ETag`, PATCH, and PUT's new `id`. Read off
 * the registry's source at 1.29.0 (`registry/api/server_routes.py`, `registry/api/_etag_utils.py`,
 * `registry/services/server_service.py`, `registry/repositories/documentdb/server_repository.py`);
 * 1.32's changes from its release notes (PR #1722): see `CurrentVersion`.
 */
import { randomUUID } from 'node:crypto';
import type { AgentCard } from './agent-card';
import { applyAgentUpdate, normalizeAgentPath, type Problem, ValidationFailure } from './agent-card';
import { policyDenial, type UrlPolicy } from './policy';
import { type Answer, type RegistryStore, type ServerRecord, unprocessable } from './store';

/**
 * `1.29`: the PATCH handler reads the record, checks `If-Match` against that read, then saves the
 * whole merged record with `update_one({_id: <path without trailing slash>}, {$set: merged})`: a
 * stored `/currenttime/` matches nothing (500), and a change landing between the read and the save
 * is overwritten. `1.32`: the update finds the record under either slash spelling, `$set`s only the
 * sent fields plus `updated_at`, and checks the `If-Match` revision in the same `update_one` filter
 * (a change in between answers 412).
 */
export type CurrentVersion = '1.29' | '1.32';

/** Who is calling, as the auth layer tells the registry. */
export interface Principal {
  username: string;
  isAdmin: boolean;
}

/** Server fields PATCH refuses (registrant-only or managed elsewhere). */
const SERVER_PATCH_REFUSED = [
  'id',
  'path',
  'registered_by',
  'is_enabled',
  'version',
  'deployment',
  'auth_scheme',
  'auth_credential',
  'auth_header_name',
  'registered_at',
  'updated_at',
];
const AGENT_PATCH_REFUSED = ['id', 'path', 'registered_by', 'registered_at', 'updated_at'];
/** The address fields `update_server` validates against the URL policy. */
const TARGET_FIELDS = ['proxy_pass_url', 'mcp_endpoint', 'sse_endpoint'];
/** What register answers for any exception inside its `try` (the policy's refusal included). */
export const REGISTRATION_FAILED: Answer = { status: 500, body: { detail: 'Service registration failed' } };
/** `ServerUpdateRequest`'s fields and defaults (PUT); `server_name` and `description` are required. */
const SERVER_PUT_DEFAULTS: Record<string, unknown> = {
  server_name: '',
  description: '',
  proxy_pass_url: null,
  mcp_endpoint: null,
  sse_endpoint: null,
  transport: null,
  supported_transports: null,
  headers: null,
  oauth_client_id: null,
  append_mcp_path: null,
  auth_provider: null,
  tags: [],
  license: 'N/A',
  num_tools: null,
  tool_list: null,
  metadata: null,
  visibility: 'public',
  allowed_groups: null,
  status: null,
  provider: null,
  source_created_at: null,
  source_updated_at: null,
  external_tags: null,
};

/** A server write's answer, with what the server needs for the scan. */
export type ServerWrite = Answer & { written?: string; urlChanged?: boolean; captured?: ServerRecord };

const SERVER_STALE: Answer = {
  status: 412,
  body: { detail: 'If-Match does not match current server version' },
};

/** `datetime.utcnow().isoformat()`: naive, microseconds. A counter fills the sub-millisecond digits. */
export function naiveUtc(ms: number, tick: number): string {
  const micro = String(tick % 1000).padStart(3, '0');
  return `${new Date(ms).toISOString().slice(0, 23)}${micro}`;
}

/** Epoch ms of a naive ISO timestamp read as UTC, truncated like Python's `int(ts.timestamp() * 1000)`. */
export function epochMs(value: unknown): number {
  if (typeof value !== 'string') return 0;
  const m = /^(.*?)(?:\.(\d{1,6}))?$/.exec(value);
  const base = Date.parse(`${m?.[1] ?? value}Z`);
  if (Number.isNaN(base)) return 0;
  const micro = Number((m?.[2] ?? '').padEnd(6, '0'));
  return Math.trunc((base / 1000 + micro / 1e6) * 1000);
}

/** A record's version as its ETag and `If-Match` carry it: `updated_at`, else `registered_at`, in epoch ms. */
function versionMs(record: Record<string, unknown>): number {
  return epochMs(record.updated_at ?? record.registered_at);
}

export function weakEtag(record: Record<string, unknown>): string {
  return `W/"${versionMs(record)}"`;
}

/** `parse_if_match`: undefined (none), a number, or the 400 answer. */
function parseIfMatch(header: string | undefined): number | undefined | Answer {
  if (header === undefined) return undefined;
  const s = header.trim();
  if (s.startsWith('"') && s.endsWith('"')) {
    return { status: 400, body: { detail: 'Strong ETag not supported; use weak form W/"<epoch_ms>"' } };
  }
  const m = /^W\/"(\d+)"$/.exec(s);
  if (!m?.[1]) return { status: 400, body: { detail: 'Malformed If-Match header' } };
  return Number(m[1]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The 1.29 behaviours; `store` holds the data. */
export class CurrentGeneration {
  private tick = 0;
  private lastMs = 0;

  constructor(
    private readonly store: RegistryStore,
    private readonly now: () => number,
    private readonly policy: UrlPolicy,
    readonly version: CurrentVersion = '1.29',
  ) {}

  /**
   * A new `updated_at`. Each stamp is at least a millisecond after the last, so every change moves
   * the weak ETag (epoch ms) even when two land within one millisecond of the clock; the registry's
   * own clock could repeat a millisecond, which tests must not depend on.
   */
  stamp(): string {
    this.tick++;
    this.lastMs = Math.max(this.now(), this.lastMs + 1);
    return naiveUtc(this.lastMs, this.tick);
  }

  /** Seeded records get what DocumentDB documents carry. */
  adopt(): void {
    for (const path of this.store.serverPaths()) {
      const record = this.store.rawServer(path);
      if (record === undefined) continue;
      record.id ??= randomUUID();
      record.registered_by ??= 'admin';
      record.registered_at ??= this.stamp();
      record.updated_at ??= record.registered_at;
    }
    for (const path of this.store.agentPaths()) {
      const card = this.store.rawAgent(path);
      if (card === undefined) continue;
      card.id ??= randomUUID();
      card.registered_at ??= this.stamp();
      card.updated_at ??= card.registered_at;
    }
  }

  /** `GET /api/servers/{path}`: no ETag header; `tool_list` shows empty; `proxy_pass_url` for admins only. */
  getServer(path: string, who: Principal): Answer {
    const answer = this.store.getServerRoute(path);
    if (answer.status !== 200 || !isObject(answer.body)) return answer;
    // The tool filter fails closed for the reconciler's principal and keeps num_tools consistent.
    const body: Record<string, unknown> = { ...answer.body, tool_list: [], num_tools: 0 };
    body.visibility ??= 'public';
    if (!isObject(body.metadata)) body.metadata = {};
    if (!who.isAdmin) {
      delete body.proxy_pass_url;
      delete body.mcp_endpoint;
      delete body.sse_endpoint;
    }
    return { status: 200, body };
  }

  /**
   * `GET /api/servers`: paged, items carry `id`, and `registered_at`, `updated_at` and
   * `registered_by` as stored (null when absent; 1.29's `list_services`, server_routes.py at
   * 8c5b834, lines 986, 987 and 996); `include_tools=false` shows the stored count and no tools.
   */
  listServers(query: URLSearchParams, who: Principal): Answer {
    const answer = this.store.listServers(query, 'paged');
    if (answer.status !== 200 || !isObject(answer.body)) return answer;
    const includeTools = query.get('include_tools') !== 'false';
    const servers = (answer.body.servers as Record<string, unknown>[]).map((item) => {
      const stored = this.store.rawServer(String(item.path)) ?? {};
      const tools = Array.isArray(stored.tool_list) ? stored.tool_list : [];
      const shown: Record<string, unknown> = {
        id: stored.id,
        ...item,
        tool_list: includeTools ? tools : [],
        num_tools: includeTools ? tools.length : (stored.num_tools ?? 0),
        registered_at: stored.registered_at ?? null,
        updated_at: stored.updated_at ?? null,
        registered_by: stored.registered_by ?? null,
      };
      // Backend addresses are for admins only, in the list as in the single read.
      if (!who.isAdmin) delete shown.proxy_pass_url;
      return shown;
    });
    return { status: 200, body: { ...answer.body, servers } };
  }

  /**
   * `POST /api/servers/register` (`register_service_api`): admin or owner, then the URL policy,
   * then register with its resets. The route wraps everything after its form checks in one
   * `try … except Exception` that answers `500 {"detail":"Service registration failed"}`: the
   * policy's refusal, a database error and a failed overwrite all look the same. `base` is the
   * save (it may be a fault that throws the same way).
   */
  register(
    form: URLSearchParams,
    who: Principal,
    base: (form: URLSearchParams) => Answer & { written?: string },
  ): Answer & { written?: string } {
    if (!who.isAdmin) {
      return { status: 403, body: { detail: 'You do not have permission to register services' } };
    }
    const proxy = form.get('proxy_pass_url');
    const targets = [proxy, form.get('mcp_endpoint'), form.get('sse_endpoint')];
    if (targets.some((url) => url && policyDenial(url, this.policy) !== undefined)) {
      // `update_server`/`register_server` raise UrlValidationError inside the route's try.
      return REGISTRATION_FAILED;
    }
    const answer = base(form);
    // An overwrite whose exact-path update matched nothing leaves `result` unbound: the same 500.
    if (answer.status >= 500) return REGISTRATION_FAILED;
    if (answer.written === undefined) return answer;
    const record = this.store.rawServer(answer.written);
    if (record === undefined) return answer;
    record.id = randomUUID();
    record.registered_by = who.username;
    const metadata = form.get('metadata');
    if (metadata === null || metadata === '') record.metadata = {};
    record.visibility = form.get('visibility') || 'public';
    const groups = form.get('allowed_groups');
    if (groups) {
      record.allowed_groups = groups
        .split(',')
        .map((g) => g.trim())
        .filter((g) => g !== '');
    }
    // `len(tool_list) if tool_list else num_tools`: an empty list sent keeps the form's count.
    if (Array.isArray(record.tool_list) && record.tool_list.length > 0)
      record.num_tools = record.tool_list.length;
    record.updated_at = this.stamp();
    return answer;
  }

  /**
   * `PATCH /api/servers/{path}` (`patch_server_endpoint`), JSON merge patch, in the handler's
   * order: the body model (422), 404, owner (403), `If-Match` (400 malformed, 412 stale), empty
   * body (400), the URL policy in `update_server` (400), then the save (1.29: 500 for a stored
   * trailing slash). Nothing before the save has a side effect; the scan and the webhook start only
   * after it succeeded. `between` runs after the checks and before the save, where another writer's
   * change can land (the `editDuringNext` fault).
   */
  patchServer(
    rawPath: string,
    body: unknown,
    ifMatch: string | undefined,
    who: Principal,
    between: (storedPath: string) => void = () => {},
  ): ServerWrite {
    // FastAPI validates the body model before the handler runs.
    if (!isObject(body)) return unprocessable([{ loc: ['body'], msg: 'Input should be a valid dictionary' }]);
    // `ServerCardPatch` (extra="forbid"): registrant-only and unknown fields are a 422.
    const problems: Problem[] = Object.keys(body)
      .filter((k) => SERVER_PATCH_REFUSED.includes(k) || !(k in SERVER_PUT_DEFAULTS))
      .map((k) => ({
        loc: ['body', k],
        msg: SERVER_PATCH_REFUSED.includes(k)
          ? `Field '${k}' cannot be patched`
          : 'Extra inputs are not permitted',
      }));
    if (problems.length > 0) return unprocessable(problems);
    return this.updateServer('patch', rawPath, body, ifMatch, who, between);
  }

  /**
   * `PUT /api/servers/{path}` (`update_server_endpoint`): the body is a whole `ServerUpdateRequest`
   * (`server_name` and `description` required, unknown fields 422), and every model field not sent
   * takes the model's default (`tags` `[]`, `license` `N/A`, `visibility` `public`, others null);
   * then the same checks, save and scan as PATCH.
   */
  putServer(
    rawPath: string,
    body: unknown,
    ifMatch: string | undefined,
    who: Principal,
    between: (storedPath: string) => void = () => {},
  ): ServerWrite {
    if (!isObject(body)) return unprocessable([{ loc: ['body'], msg: 'Input should be a valid dictionary' }]);
    const problems: Problem[] = Object.keys(body)
      .filter((k) => !(k in SERVER_PUT_DEFAULTS))
      .map((k) => ({ loc: ['body', k], msg: 'Extra inputs are not permitted' }));
    for (const field of ['server_name', 'description']) {
      const value = body[field];
      if (typeof value !== 'string' || value === '') {
        problems.push({
          loc: ['body', field],
          msg: value === undefined ? 'Field required' : 'String should have at least 1 character',
        });
      }
    }
    if (problems.length > 0) return unprocessable(problems);
    return this.updateServer(
      'put',
      rawPath,
      { ...structuredClone(SERVER_PUT_DEFAULTS), ...body },
      ifMatch,
      who,
      between,
    );
  }

  private updateServer(
    mode: 'patch' | 'put',
    rawPath: string,
    body: Record<string, unknown>,
    ifMatch: string | undefined,
    who: Principal,
    between: (storedPath: string) => void,
  ): ServerWrite {
    // `_normalize_server_path`: one leading slash, no trailing slash.
    const path = `/${rawPath.replace(/^\/+|\/+$/g, '')}`;
    const found = this.store.lookupServer(path);
    if (found === undefined) return { status: 404, body: { detail: `Server not found at path '${path}'` } };
    const [storedPath, read] = found;
    const existing: ServerRecord = { ...read };
    if (!who.isAdmin && existing.registered_by !== who.username) {
      const verb = mode === 'patch' ? 'patch' : 'update';
      return { status: 403, body: { detail: `You can only ${verb} servers you registered` } };
    }
    const clientTs = parseIfMatch(ifMatch);
    if (typeof clientTs === 'object') return clientTs;
    if (clientTs !== undefined && clientTs !== versionMs(existing)) return SERVER_STALE;
    if (Object.keys(body).length === 0) return { status: 400, body: { detail: 'Empty patch body' } };
    // `_merge_server_update`: `{**existing, **incoming}` (an explicit null is stored as null), CSV
    // tags split into a list.
    const apply = (target: ServerRecord): ServerRecord => {
      for (const [k, v] of Object.entries(body)) {
        target[k] =
          (k === 'tags' || k === 'external_tags') && typeof v === 'string'
            ? v
                .split(',')
                .map((t) => t.trim())
                .filter((t) => t !== '')
            : v;
      }
      return target;
    };
    const merged = apply({ ...existing });
    // `update_server` validates the merged targets whenever the saved dict carries one: on 1.29 the
    // handler saves the whole merged record, so every PATCH re-checks the stored address; on 1.32
    // only the sent fields are saved, so only a PATCH that sends a target field is checked.
    const checked = this.version === '1.29' || TARGET_FIELDS.some((f) => f in body);
    for (const field of checked ? TARGET_FIELDS : []) {
      const denial = merged[field] ? policyDenial(merged[field], this.policy) : undefined;
      if (denial !== undefined) {
        return { status: 400, body: { detail: `URL rejected by security policy: ${denial}` } };
      }
    }
    // 1.29: `update_one({_id: path})` with the normalised path: a stored `/currenttime/` is missed.
    if (this.version === '1.29' && storedPath !== path) {
      return { status: 500, body: { detail: 'Failed to save server' } };
    }
    between(storedPath);
    const now = this.store.rawServer(storedPath);
    if (now === undefined) return { status: 500, body: { detail: 'Failed to save server' } };
    let saved: ServerRecord;
    if (this.version === '1.29') {
      // The whole merged record, as read before the checks: a change made since is overwritten.
      saved = { ...merged, updated_at: this.stamp() };
    } else {
      // The If-Match revision is part of the update's filter: a change since the read is a 412.
      if (clientTs !== undefined && clientTs !== versionMs(now)) return SERVER_STALE;
      saved = apply({ ...now });
      saved.updated_at = this.stamp();
    }
    this.store.replaceServer(storedPath, saved);
    const fresh = this.getServer(storedPath, { username: who.username, isAdmin: true });
    return {
      ...fresh,
      headers: { etag: weakEtag(saved) },
      written: storedPath,
      urlChanged:
        (mode === 'put' || 'proxy_pass_url' in body) &&
        existing.deployment !== 'local' &&
        existing.proxy_pass_url !== merged.proxy_pass_url,
      // The scan task is handed the merged record of this request (`merged`), whole.
      captured: structuredClone({ ...merged, updated_at: saved.updated_at }),
    };
  }

  /**
   * `POST /api/servers/toggle-tool/{path}` (1.31+): blocks or unblocks one tool of a server
   * (`blocked_tools` on the record), form or JSON `tool_name` and `enabled`; admins only.
   */
  toggleTool(rawPath: string, form: URLSearchParams, json: unknown, who: Principal): Answer {
    if (this.version === '1.29') return { status: 405, body: { detail: 'Method Not Allowed' } };
    if (!who.isAdmin) return { status: 403, body: { detail: 'Admin access required' } };
    const input: Record<string, unknown> = isObject(json) ? json : Object.fromEntries(form);
    const tool = input.tool_name;
    const enabledText = String(input.enabled ?? '');
    const enabled =
      typeof input.enabled === 'boolean' ? input.enabled : ['true', '1', 'yes', 'on'].includes(enabledText);
    const problems: Problem[] = [];
    if (typeof tool !== 'string' || tool === '')
      problems.push({ loc: ['body', 'tool_name'], msg: 'Field required' });
    if (input.enabled === undefined) problems.push({ loc: ['body', 'enabled'], msg: 'Field required' });
    if (problems.length > 0 || typeof tool !== 'string') return unprocessable(problems);
    const found = this.store.lookupServer(`/${rawPath.replace(/^\/+|\/+$/g, '')}`);
    if (found === undefined)
      return { status: 404, body: { detail: `Server not found at path '/${rawPath}'` } };
    const [storedPath, record] = found;
    const blocked = new Set(Array.isArray(record.blocked_tools) ? record.blocked_tools.map(String) : []);
    if (enabled) blocked.delete(tool);
    else blocked.add(tool);
    record.blocked_tools = [...blocked].sort();
    record.updated_at = this.stamp();
    return {
      status: 200,
      body: { path: storedPath, tool_name: tool, enabled, blocked_tools: record.blocked_tools },
    };
  }

  /** `POST /api/servers/toggle` also stamps `updated_at` on 1.29. */
  touchServer(path: string): void {
    const found = this.store.lookupServer(path);
    if (found) found[1].updated_at = this.stamp();
  }

  /** `GET /api/agents/{path}` with its weak ETag. */
  getAgent(rawPath: string, who: Principal): Answer {
    const answer = this.store.getAgentRoute(rawPath);
    if (answer.status !== 200 || !isObject(answer.body)) return answer;
    const body = { ...answer.body };
    if (!who.isAdmin) delete body.proxy_pass_url;
    return { ...answer, body, headers: { etag: weakEtag(answer.body) } };
  }

  /** `PATCH /api/agents/{path}`: merge patch, If-Match, the policy on `url` and the stored `proxy_pass_url`. */
  patchAgent(rawPath: string, body: unknown, ifMatch: string | undefined, who: Principal): Answer {
    const path = normalizeAgentPath(rawPath);
    const existing = this.store.rawAgent(path);
    if (existing === undefined) return { status: 404, body: { detail: `Agent not found at path '${path}'` } };
    if (!who.isAdmin && existing.registered_by !== who.username) {
      return { status: 403, body: { detail: 'You can only modify agents you registered' } };
    }
    const clientTs = parseIfMatch(ifMatch);
    if (typeof clientTs === 'object') return clientTs;
    if (clientTs !== undefined && clientTs !== versionMs(existing)) {
      return { status: 412, body: { detail: 'If-Match does not match current agent version' } };
    }
    if (!isObject(body)) return unprocessable([{ loc: ['body'], msg: 'Input should be a valid dictionary' }]);
    const refused = Object.keys(body).filter((k) => AGENT_PATCH_REFUSED.includes(k));
    if (refused.length > 0) {
      return unprocessable(refused.map((k) => ({ loc: ['body', k], msg: `Field '${k}' cannot be patched` })));
    }
    const merged: AgentCard = { ...existing, ...body };
    // Any patch re-checks both addresses the card holds.
    for (const field of ['url', 'proxy_pass_url']) {
      const denial = policyDenial(merged[field], this.policy);
      if (denial !== undefined)
        return { status: 400, body: { detail: `URL rejected by security policy: ${denial}` } };
    }
    merged.updated_at = this.stamp();
    this.store.replaceAgent(path, merged);
    return { status: 200, body: structuredClone(merged), headers: { etag: weakEtag(merged) } };
  }

  /** `PUT /api/agents/{path}` on 1.29: the policy on `url`, and a new `id`. */
  putAgent(rawPath: string, body: unknown, who: Principal): Answer {
    const path = normalizeAgentPath(rawPath);
    const existing = this.store.rawAgent(path);
    if (existing === undefined) return { status: 404, body: { detail: `Agent not found at path '${path}'` } };
    if (!who.isAdmin && existing.registered_by !== who.username) {
      return { status: 403, body: { detail: 'You can only modify agents you registered' } };
    }
    let card: AgentCard;
    try {
      card = applyAgentUpdate(existing, path, body);
    } catch (error) {
      if (error instanceof ValidationFailure) return unprocessable(error.problems);
      throw error;
    }
    const proxy =
      isObject(body) && typeof body.proxy_pass_url === 'string'
        ? body.proxy_pass_url
        : existing.proxy_pass_url;
    for (const url of [card.url, proxy]) {
      const denial = policyDenial(url, this.policy);
      if (denial !== undefined)
        return { status: 400, body: { detail: `URL rejected by security policy: ${denial}` } };
    }
    const stored: AgentCard = { ...card, id: randomUUID(), updated_at: this.stamp() };
    if (proxy !== undefined) stored.proxy_pass_url = proxy;
    this.store.replaceAgent(path, stored);
    return { status: 200, body: structuredClone(stored) };
  }
}
