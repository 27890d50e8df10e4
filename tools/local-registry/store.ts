/**
 * The registry's data and the semantics of the routes the reconciler uses, as in the registry's
 * source (v1.0.16 and its newer mainline). No HTTP here: each route method takes parsed input
 * and returns the status and JSON body the real route would.
 */
import {
  type AgentCard,
  agentPathOf,
  applyAgentUpdate,
  normalizeAgentPath,
  type Problem,
  parseAgentCard,
  ValidationFailure,
} from './agent-card';

/** A server as the registry stores it (`server_name`, `path`, `proxy_pass_url`, …). */
export type ServerRecord = Record<string, unknown>;

/** A route's answer. */
export interface Answer {
  status: number;
  body: unknown;
  /** Extra response headers (`etag`). */
  headers?: Record<string, string>;
}

/**
 * How an overwrite stores the record. `documentdb` (the CloudFormation stack) `$set`s the fields
 * sent, so fields the request leaves out survive; `file` (the local file backend) replaces the
 * record, so they are lost. Both reset the fields the register route always fills.
 */
export type StorageMode = 'documentdb' | 'file';

/** The shape of `GET /api/servers`: mainline pages it; v1.0.16 returns every server at once. */
export type ListShape = 'paged' | 'v1.0.16';

/** The registry's `VALID_AUTH_SCHEMES`: anything else is a 400 on register. */
export const VALID_AUTH_SCHEMES = ['none', 'bearer', 'api_key'];
/** The largest `limit` the paged list accepts (more is a 422). */
export const MAX_PAGE_LIMIT = 500;
/** The page size when `limit` is not given (an assumption: the spec does not say). */
export const DEFAULT_PAGE_LIMIT = 100;
/** Stored but never shown by a read. */
const CREDENTIAL_FIELDS = ['auth_credential_encrypted', 'auth_credential'];

/** FastAPI's answer for a route that does not exist (v1.0.16 for `GET /api/servers/{path}`). */
export const NOT_FOUND: Answer = { status: 404, body: { detail: 'Not Found' } };

/** Python's `dict.get(key, default)`: a present key wins even when its value is null. */
function get(record: Record<string, unknown>, key: string, fallback: unknown): unknown {
  return key in record ? record[key] : fallback;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** FastAPI's 422 body. */
export function unprocessable(problems: Problem[]): Answer {
  return {
    status: 422,
    body: {
      detail: problems.map((p) => ({
        type: p.msg === 'Field required' ? 'missing' : 'value_error',
        loc: p.loc,
        msg: p.msg,
        input: null,
      })),
    },
  };
}

/**
 * A form field as FastAPI reads it: the last value wins, and an empty string counts as absent
 * (so an empty required field is "Field required", an empty optional one takes its default).
 */
function formField(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  const value = values[values.length - 1];
  return value === undefined || value === '' ? undefined : value;
}

const TRUE_WORDS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

/** Pydantic's lax boolean parsing of a form string. */
function parseBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  return undefined;
}

function parseInteger(value: string): number | undefined {
  return /^\s*[+-]?\d+\s*$/.test(value) ? Number.parseInt(value, 10) : undefined;
}

/** Python's `json.loads`, reporting failure instead of throwing. */
function loadsJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The registry's data: servers with their enabled flags, and agent cards. */
export class RegistryStore {
  private readonly servers = new Map<string, ServerRecord>();
  private readonly enabled = new Map<string, boolean>();
  private readonly agents = new Map<string, AgentCard>();

  constructor(private readonly now: () => number) {}

  // ---- direct state access (tests and seeding) ----

  /** Adds or replaces a server, applying the defaults the registry fills in when it loads a file. */
  putServer(record: ServerRecord, enabled?: boolean): void {
    if (typeof record.path !== 'string' || typeof record.server_name !== 'string') {
      throw new Error('a server record needs string "path" and "server_name" fields');
    }
    const stored: ServerRecord = clone(record);
    stored.description ??= '';
    stored.tags ??= [];
    stored.num_tools ??= 0;
    stored.license ??= 'N/A';
    stored.proxy_pass_url ??= null;
    stored.tool_list ??= [];
    this.servers.set(record.path, stored);
    this.enabled.set(record.path, enabled ?? this.enabled.get(record.path) ?? false);
  }

  /** The stored record (a copy), exactly as the registry keeps it. */
  getServer(path: string): ServerRecord | undefined {
    const record = this.servers.get(path);
    return record === undefined ? undefined : clone(record);
  }

  serverPaths(): string[] {
    return [...this.servers.keys()];
  }

  deleteServer(path: string): boolean {
    this.enabled.delete(path);
    return this.servers.delete(path);
  }

  isEnabled(path: string): boolean {
    return this.enabled.get(path) ?? false;
  }

  setEnabled(path: string, enabled: boolean): void {
    if (!this.servers.has(path)) throw new Error(`no server at ${path}`);
    this.enabled.set(path, enabled);
  }

  /**
   * Applies a `server_state.json` map the way the registry does at start: each server takes the
   * flag of its path, or of its path with/without the trailing slash, or false.
   */
  applyState(state: Record<string, boolean>): void {
    for (const path of this.servers.keys()) {
      const flag = state[path] ?? state[alternatePath(path)];
      if (flag !== undefined) this.enabled.set(path, flag);
    }
  }

  /** Adds or replaces an agent card (validated and normalised like the registry's model). */
  putAgent(card: Record<string, unknown>): AgentCard {
    const path = agentPathOf(card);
    const parsed = parseAgentCard({ ...card, path });
    this.agents.set(path, parsed);
    return clone(parsed);
  }

  /** The stored card (a copy), in the registry's snake_case form. */
  getAgent(path: string): AgentCard | undefined {
    const card = this.agents.get(path);
    return card === undefined ? undefined : clone(card);
  }

  agentPaths(): string[] {
    return [...this.agents.keys()];
  }

  clear(): void {
    this.servers.clear();
    this.enabled.clear();
    this.agents.clear();
  }

  // ---- routes ----

  /** `GET /api/servers`: sorted by name; paged (mainline) or all at once (v1.0.16). */
  listServers(query: URLSearchParams, shape: ListShape): Answer {
    const items = [...this.servers.entries()]
      .sort(([, a], [, b]) => compare(String(a.server_name), String(b.server_name)))
      .map(([path, record]) => this.listItem(path, record));
    if (shape === 'v1.0.16') return { status: 200, body: { servers: items } };
    const problems: Problem[] = [];
    const limit = queryInt(query, 'limit', DEFAULT_PAGE_LIMIT, 1, MAX_PAGE_LIMIT, problems);
    const offset = queryInt(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER, problems);
    if (problems.length > 0) return unprocessable(problems);
    const page = items.slice(offset, offset + limit);
    return {
      status: 200,
      body: {
        servers: page,
        total_count: items.length,
        limit,
        offset,
        has_next: offset + page.length < items.length,
      },
    };
  }

  /**
   * `GET /api/servers/{path}` (newer mainline): the stored record without credentials, plus
   * `display_name` and `is_enabled`. Matches with or without the trailing slash, like the
   * registry's repository lookups.
   */
  getServerRoute(path: string): Answer {
    const found = this.lookupServer(path);
    if (found === undefined) return { status: 404, body: { detail: `Server not found at path '${path}'` } };
    const [storedPath, record] = found;
    return {
      status: 200,
      body: { ...readable(record), display_name: record.server_name, is_enabled: this.isEnabled(storedPath) },
    };
  }

  /**
   * `POST /api/servers/register`. With `overwrite` (the default) an existing server is updated
   * with the fields built from this form alone: what the form leaves out takes the route's
   * defaults. Returns the path written, when a write happened, for the caller's side effects.
   */
  register(form: URLSearchParams, storage: StorageMode): Answer & { written?: string } {
    const problems: Problem[] = [];
    const required = (name: string): string => {
      const value = formField(form, name);
      if (value === undefined) problems.push({ loc: ['body', name], msg: 'Field required' });
      return value ?? '';
    };
    const name = required('name');
    const description = required('description');
    let path = required('path');
    const proxyPassUrl = required('proxy_pass_url');
    const numToolsText = formField(form, 'num_tools');
    const numTools = numToolsText === undefined ? 0 : parseInteger(numToolsText);
    if (numTools === undefined) {
      problems.push({
        loc: ['body', 'num_tools'],
        msg: 'Input should be a valid integer, unable to parse string as an integer',
      });
    }
    const overwriteText = formField(form, 'overwrite');
    const overwrite = overwriteText === undefined ? true : parseBool(overwriteText);
    if (overwrite === undefined) {
      problems.push({
        loc: ['body', 'overwrite'],
        msg: 'Input should be a valid boolean, unable to interpret input',
      });
    }
    if (problems.length > 0) return unprocessable(problems);

    if (!path.startsWith('/')) path = `/${path}`;
    const tags = (formField(form, 'tags') ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    const transportsText = formField(form, 'supported_transports');
    let transports: unknown = ['streamable-http'];
    if (transportsText !== undefined) {
      if (transportsText.startsWith('[')) {
        const parsed = loadsJson(transportsText);
        if (parsed.ok) transports = parsed.value;
      } else {
        transports = transportsText.split(',').map((t) => t.trim());
      }
    }
    const headersText = formField(form, 'headers');
    const headers = headersText === undefined ? undefined : loadsJson(headersText);
    const toolListText = formField(form, 'tool_list_json');
    const toolList = toolListText === undefined ? undefined : loadsJson(toolListText);
    const authScheme = formField(form, 'auth_scheme') ?? 'none';
    if (!VALID_AUTH_SCHEMES.includes(authScheme)) {
      return {
        status: 400,
        body: {
          error: 'Invalid auth_scheme',
          reason: `auth_scheme must be one of: ['none', 'bearer', 'api_key']`,
        },
      };
    }

    const entry: ServerRecord = {
      server_name: name,
      description,
      path,
      proxy_pass_url: proxyPassUrl,
      supported_transports: transports,
      auth_scheme: authScheme,
      tags,
      num_tools: numTools,
      license: formField(form, 'license') ?? 'N/A',
      tool_list: toolList?.ok ? toolList.value : [],
    };
    const optional = [
      'auth_provider',
      'auth_header_name',
      'mcp_endpoint',
      'sse_endpoint',
      'version',
      'status',
    ];
    for (const field of optional) {
      const value = formField(form, field);
      if (value !== undefined) entry[field] = value;
    }
    if (headers?.ok && isTruthy(headers.value)) entry.headers = headers.value;
    const credential = formField(form, 'auth_credential');
    if (credential !== undefined && authScheme !== 'none') {
      entry.auth_credential_encrypted = `local-enc:${Buffer.from(credential).toString('base64')}`;
    }
    const metadataText = formField(form, 'metadata');
    if (metadataText !== undefined) {
      const metadata = loadsJson(metadataText);
      if (!metadata.ok) {
        return {
          status: 400,
          body: {
            error: 'Invalid metadata',
            reason: 'metadata must be valid JSON',
            detail: 'Provide metadata as a JSON string',
          },
        };
      }
      entry.metadata = metadata.value;
    }

    const existing = this.lookupServer(path);
    if (existing !== undefined && !overwrite) {
      const existingVersion = String(get(existing[1], 'version', 'v1.0.0'));
      const version = entry.version;
      if (version === undefined || version === existingVersion) {
        return {
          status: 409,
          body: {
            error: 'Service registration failed',
            reason: `A service with path '${path}' already exists with version ${existingVersion}`,
            detail: 'Use overwrite=true to replace, or specify a different version',
          },
        };
      }
      // A different version registers an inactive version document; the active record stays.
      return created(path, name);
    }
    if (existing !== undefined) {
      // The lookup tolerates a trailing-slash difference but the update does not: in the
      // registry that failed update then trips over an unset variable, and the route answers 500.
      if (!this.servers.has(path)) {
        return {
          status: 500,
          body: {
            detail:
              "Service registration failed: cannot access local variable 'result' where it is not associated with a value",
          },
        };
      }
      const before = this.servers.get(path) ?? {};
      const stored =
        storage === 'documentdb'
          ? { ...before, ...entry, updated_at: new Date(this.now()).toISOString() }
          : { ...entry, path };
      this.servers.set(path, stored);
      return { ...created(path, name), written: path };
    }
    entry.version ??= 'v1.0.0';
    entry.is_active = true;
    this.servers.set(path, entry);
    this.enabled.set(path, false);
    return { ...created(path, name), written: path };
  }

  /** `POST /api/servers/toggle` (form `path`, `new_state`). */
  toggle(form: URLSearchParams): Answer {
    const problems: Problem[] = [];
    let path = formField(form, 'path');
    const stateText = formField(form, 'new_state');
    if (path === undefined) problems.push({ loc: ['body', 'path'], msg: 'Field required' });
    const newState = stateText === undefined ? undefined : parseBool(stateText);
    if (stateText === undefined) problems.push({ loc: ['body', 'new_state'], msg: 'Field required' });
    else if (newState === undefined) {
      problems.push({
        loc: ['body', 'new_state'],
        msg: 'Input should be a valid boolean, unable to interpret input',
      });
    }
    if (problems.length > 0 || path === undefined || newState === undefined) return unprocessable(problems);
    if (!path.startsWith('/')) path = `/${path}`;
    const found = this.lookupServer(path);
    if (found === undefined) return { status: 404, body: { detail: 'Service path not registered' } };
    // Setting the state looks the path up exactly.
    if (!this.servers.has(path)) return { status: 500, body: { detail: 'Failed to toggle service' } };
    this.enabled.set(path, newState);
    return {
      status: 200,
      body: {
        message: `Toggle request for ${path} processed.`,
        service_path: path,
        new_enabled_state: newState,
        status: newState ? 'healthy' : 'disabled',
        last_checked_iso: null,
        num_tools: get(found[1], 'num_tools', 0),
      },
    };
  }

  /**
   * The security scan's verdict "unsafe", as the registry applies it after a registration:
   * tag the server `security-pending` and switch it off.
   */
  failSecurityScan(path: string, addTag: boolean): void {
    const record = this.servers.get(path);
    if (record === undefined) return;
    const tags = Array.isArray(record.tags) ? [...record.tags] : [];
    if (addTag && !tags.includes('security-pending'))
      this.servers.set(path, { ...record, tags: [...tags, 'security-pending'] });
    this.enabled.set(path, false);
  }

  /** `GET /api/agents/{path}`: the card's `model_dump()`. */
  getAgentRoute(rawPath: string): Answer {
    const path = normalizeAgentPath(rawPath);
    const card = this.agents.get(path);
    if (card === undefined) return { status: 404, body: { detail: `Agent not found at path '${path}'` } };
    return { status: 200, body: clone(card) };
  }

  /** `PUT /api/agents/{path}` with v1.0.16's replace-from-request semantics (see `applyAgentUpdate`). */
  putAgentRoute(rawPath: string, body: unknown): Answer {
    const path = normalizeAgentPath(rawPath);
    const existing = this.agents.get(path);
    if (existing === undefined) return { status: 404, body: { detail: `Agent not found at path '${path}'` } };
    let card: AgentCard;
    try {
      card = applyAgentUpdate(existing, path, body);
    } catch (error) {
      if (error instanceof ValidationFailure) return unprocessable(error.problems);
      throw error;
    }
    // The service stamps the stored copy; the route answers with the card it built (no stamp).
    this.agents.set(path, { ...card, updated_at: new Date(this.now()).toISOString() });
    return { status: 200, body: clone(card) };
  }

  /** The stored record itself (no copy), for the generation layers that change it in place. */
  rawServer(path: string): ServerRecord | undefined {
    return this.servers.get(path);
  }

  /** Replaces a stored record as is (no defaults applied). */
  replaceServer(path: string, record: ServerRecord): void {
    this.servers.set(path, record);
  }

  /** The stored card itself (no copy). */
  rawAgent(path: string): AgentCard | undefined {
    return this.agents.get(path);
  }

  /** Replaces a stored card as is. */
  replaceAgent(path: string, card: AgentCard): void {
    this.agents.set(path, card);
  }

  /** The repository lookup: the exact path, else the path with/without its trailing slash. */
  lookupServer(path: string): [string, ServerRecord] | undefined {
    for (const candidate of [path, alternatePath(path)]) {
      const record = this.servers.get(candidate);
      if (record !== undefined) return [candidate, record];
    }
    return undefined;
  }

  /** One item of v1.0.16's `GET /api/servers`, field for field. */
  listItem(path: string, stored: ServerRecord): Record<string, unknown> {
    const record = readable(stored);
    const enabled = this.isEnabled(path);
    const version = get(record, 'version', 'v1.0.0');
    return {
      display_name: record.server_name,
      path,
      description: get(record, 'description', ''),
      proxy_pass_url: get(record, 'proxy_pass_url', ''),
      is_enabled: enabled,
      tags: get(record, 'tags', []),
      num_tools: get(record, 'num_tools', 0),
      license: get(record, 'license', 'N/A'),
      health_status: enabled ? 'unknown' : 'disabled',
      last_checked_iso: null,
      mcp_endpoint: get(record, 'mcp_endpoint', null),
      metadata: get(record, 'metadata', {}),
      version,
      versions: null,
      default_version: version,
      mcp_server_version: get(record, 'mcp_server_version', null),
      mcp_server_version_previous: get(record, 'mcp_server_version_previous', null),
      mcp_server_version_updated_at: get(record, 'mcp_server_version_updated_at', null),
      sync_metadata: get(record, 'sync_metadata', null),
      auth_scheme: get(record, 'auth_scheme', 'none'),
      auth_header_name: get(record, 'auth_header_name', null),
      tool_list: get(record, 'tool_list', null),
    };
  }
}

/** The record as reads show it: legacy `auth_type` migrated to `auth_scheme`, credentials removed. */
function readable(stored: ServerRecord): ServerRecord {
  const record = clone(stored);
  if (!('auth_scheme' in record) && typeof record.auth_type === 'string' && record.auth_type !== '') {
    const migrated: Record<string, string> = {
      none: 'none',
      oauth: 'bearer',
      'api-key': 'api_key',
      api_key: 'api_key',
      custom: 'bearer',
    };
    record.auth_scheme = migrated[record.auth_type] ?? 'none';
  }
  for (const field of CREDENTIAL_FIELDS) delete record[field];
  return record;
}

/** The register route's 201. */
export function created(path: string, name: string): Answer {
  return {
    status: 201,
    body: { path, name, message: `Service '${name}' registered successfully at path '${path}'` },
  };
}

function alternatePath(path: string): string {
  return path.endsWith('/') ? path.replace(/\/+$/, '') : `${path}/`;
}

/** Python's string ordering (by code point), which `sorted()` uses. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Python truthiness of a parsed JSON value. */
function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return Boolean(value);
}

function queryInt(
  query: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: Problem[],
): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const value = parseInteger(text);
  if (value === undefined) {
    problems.push({
      loc: ['query', name],
      msg: 'Input should be a valid integer, unable to parse string as an integer',
    });
    return fallback;
  }
  if (value < min)
    problems.push({ loc: ['query', name], msg: `Input should be greater than or equal to ${min}` });
  if (value > max)
    problems.push({ loc: ['query', name], msg: `Input should be less than or equal to ${max}` });
  return value;
}
