/**
 * A local MCP Gateway Registry for tests and development: the HTTP contract the reconciler uses
 * with nginx's bearer check, a fake Keycloak token endpoint, switches for the
 * v1.0.16 and mainline shapes, fault injection and a request log. Listens on 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AgentCard, agentPathOf } from './agent-card';
import { CurrentGeneration, type Principal, REGISTRATION_FAILED } from './current';
import { Faults, nginxErrorPage, type ScanOutcome } from './faults';
import { parseCidr } from './policy';
import type { SeedData } from './seed';
import {
  type Answer,
  created,
  type ListShape,
  NOT_FOUND,
  RegistryStore,
  type ServerRecord,
  type StorageMode,
} from './store';
import { TOKEN_PATH, type TokenCheck, TokenIssuer } from './tokens';

/**
 * The registry generation to speak. `1.0.16`: the file backend's unpaged list, no single read, no
 * PATCH, nginx's HTML 401 and a 403 for a wrong token. `1.29`: DocumentDB records, the single read,
 * PATCH with If-Match (500 for a stored trailing slash, the whole record saved), the URL policy,
 * agent ETags. `1.32`: as 1.29, but PATCH finds either slash spelling, saves only the sent fields
 * and checks If-Match atomically; the scan settings `scan.allowUnsafeServers` and
 * `scan.blockOnScanFailure`; `POST /api/servers/toggle-tool/{path}`. Unset: the older mainline
 * model (paged list, single read, register and PUT only, no policy), for tests of the v1-contract
 * paths.
 */
export type Generation = '1.0.16' | '1.29' | '1.32';

/** Every generation, oldest first (for tests and CLIs that run each). */
export const GENERATIONS: readonly Generation[] = ['1.0.16', '1.29', '1.32'];

/** The newest generation modelled: the replay's and the CLI's default. */
export const NEWEST_GENERATION: Generation = '1.32';

/** Whether a generation is the DocumentDB line (1.29 and later: PATCH, the URL policy, `updated_at`). */
export function isDocumentDbGeneration(generation: Generation | undefined): generation is '1.29' | '1.32' {
  return generation === '1.29' || generation === '1.32';
}

/**
 * How the registry's security scan acts on its verdict (`registry/api/server_routes.py`
 * `_perform_security_scan_on_registration` at 1.29; the 1.31/1.32 settings from the release notes).
 */
export interface ScanSettings {
  /**
   * 1.31+ `SECURITY_ALLOW_UNSAFE_SERVERS` (default false): an unsafe verdict blocks the flagged
   * tools (`blocked_tools` on the record) and leaves the server enabled.
   */
  allowUnsafeServers: boolean;
  /**
   * 1.32 `SECURITY_BLOCK_ON_SCAN_FAILURE` (default true): a scan that could not run disables like an
   * unsafe one; false: it changes nothing. 1.29 and 1.0.16 always treat it as unsafe.
   */
  blockOnScanFailure: boolean;
  /**
   * The scan's record write (the tag, on 1.32 the blocked tools) saves the whole entry as it was
   * handed to the scan when the write that started it answered (1.29's code, unchanged on 1.32), so
   * a background scan can put back the address from before a later write. Default true; false
   * writes only the scan's own fields (a kinder registry, for contrast).
   */
  staleWriteBack: boolean;
}

const DEFAULT_SCAN: ScanSettings = {
  allowUnsafeServers: false,
  blockOnScanFailure: true,
  staleWriteBack: true,
};

/** nginx's own 401 page (v1.0.16: the auth request failed before the registry saw the request). */
const NGINX_401_HTML = nginxErrorPage(401);

/** Switches that change how the registry behaves; mutable at run time through `settings`. */
export interface LocalRegistrySettings {
  /** `paged` (mainline, default) or `v1.0.16` (`{"servers":[…]}`, no paging). */
  listShape: ListShape;
  /** Whether `GET /api/servers/{path}` exists (mainline) or answers FastAPI's 404 (v1.0.16). */
  singleRoute: boolean;
  /** How an overwrite stores the record (default `documentdb`, as in the CloudFormation stack). */
  storage: StorageMode;
}

/** Options of `startLocalRegistry`; every one has a default. */
export interface LocalRegistryOptions extends Partial<LocalRegistrySettings> {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** A static admin bearer token (the registry's `REGISTRY_API_TOKEN`). */
  staticToken?: string;
  /** Keycloak clients for the client-credentials grant: client id → secret. */
  clients?: Record<string, string>;
  /** `expires_in` of Keycloak tokens (default 300 s). */
  tokenTtlSeconds?: number;
  /** Initial data; `reset()` returns to it. */
  seed?: SeedData;
  /** Clock in epoch ms, for token expiry and timestamps. */
  now?: () => number;
  /** Largest request body accepted (default 10 MiB). */
  maxBodyBytes?: number;
  /** The generation to speak (see `Generation`); sets `listShape`, `singleRoute` and `storage` unless given. */
  generation?: Generation;
  /** 1.29's `SSRF_ALLOWED_CIDRS` (IPv4 CIDRs); empty by default, as the deployments ship it. */
  allowedCidrs?: string[];
  /** 1.29's `SSRF_ALLOWED_HOSTS`. */
  allowedHosts?: string[];
  /** Keycloak clients that are not in `registry-admins` (1.29: no `proxy_pass_url` on reads, 403 on writes). */
  nonAdminClients?: string[];
  /** How the security scan acts on an armed verdict (`faults.scanNext`); see `ScanSettings`. */
  scan?: Partial<ScanSettings>;
}

/** One request as the server received it. Secrets in forms (`client_secret`) are redacted. */
export interface LoggedRequest {
  method: string;
  /** The path, without the query. */
  path: string;
  query: Record<string, string>;
  /** The fields of a form body (the last value of a repeated field). */
  form?: Record<string, string>;
  /** A JSON body. */
  json?: unknown;
  /** What the bearer token was. */
  auth: TokenCheck;
  /** The `If-Match` header, when sent. */
  ifMatch?: string;
  /** The status answered; 0 until answered, and for a dropped connection. */
  status: number;
  /** The injected fault that shaped the answer, if any. */
  fault?: 'status' | 'drop' | 'unauthorized' | 'delay' | 'huge' | 'truncate' | 'register-error' | 'edit';
}

/** A running local registry. */
export interface LocalRegistry {
  /** `http://127.0.0.1:<port>`: the registry URL, as configured in `registry.url`. */
  readonly url: string;
  readonly port: number;
  /** The fake Keycloak token endpoint (`registry.auth.tokenUrl`). */
  readonly tokenUrl: string;
  readonly settings: LocalRegistrySettings;
  /** The generation spoken, when one was chosen. */
  readonly generation: Generation | undefined;
  /** The scan settings in force (mutable at run time). */
  readonly scan: ScanSettings;
  readonly faults: Faults;
  /**
   * Finishes every background scan now, oldest first, instead of at its `delayMs` (so tests need no
   * clock); returns how many finished.
   */
  finishScans(): number;
  /** Every request received since start (or the last `clearRequests`/`reset`), oldest first. */
  requests(): LoggedRequest[];
  clearRequests(): void;
  /** The stored server record (a copy) as the registry keeps it, or undefined. */
  getServer(path: string): ServerRecord | undefined;
  /** Adds or replaces a server; `enabled` defaults to its current flag, or false. */
  putServer(record: ServerRecord, options?: { enabled?: boolean }): void;
  /**
   * Changes a stored server as another writer would (an operator's edit): the fields given are set
   * and, on 1.29/1.32, `updated_at` moves, so a client's older `If-Match` is stale. Returns the record.
   */
  editServer(path: string, changes: ServerRecord): ServerRecord;
  deleteServer(path: string): boolean;
  serverPaths(): string[];
  isEnabled(path: string): boolean;
  setEnabled(path: string, enabled: boolean): void;
  /** The stored agent card (a copy), in the registry's snake_case form. */
  getAgent(path: string): AgentCard | undefined;
  /** Adds or replaces an agent card; returns it as stored. */
  putAgent(card: Record<string, unknown>): AgentCard;
  agentPaths(): string[];
  /** Adds servers, agents and enabled flags. */
  seed(data: SeedData): void;
  /** Back to the initial seed and settings; clears the request log and faults (issued tokens stay valid). */
  reset(): void;
  /** A Keycloak-style token for `clientId`, as the token endpoint would issue it. */
  issueToken(clientId?: string, ttlSeconds?: number): string;
  /** Expires every issued Keycloak token (the next request with one gets 401). */
  expireTokens(): void;
  /** Stops listening and closes open connections; pending delayed answers are dropped. */
  stop(): Promise<void>;
}

const DEFAULT_SETTINGS: LocalRegistrySettings = {
  listShape: 'paged',
  singleRoute: true,
  storage: 'documentdb',
};
const DEFAULT_CLIENT_ID = 'mcp-gateway-m2m';
const REDACTED_FIELDS = new Set(['client_secret', 'auth_credential']);

/** Starts a local registry on 127.0.0.1. */
export async function startLocalRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  const now = options.now ?? Date.now;
  const generation = options.generation;
  const old = generation === '1.0.16';
  const initialSettings: LocalRegistrySettings = {
    listShape: options.listShape ?? (old ? 'v1.0.16' : DEFAULT_SETTINGS.listShape),
    singleRoute: options.singleRoute ?? (old ? false : DEFAULT_SETTINGS.singleRoute),
    storage: options.storage ?? (old ? 'file' : DEFAULT_SETTINGS.storage),
  };
  for (const cidr of options.allowedCidrs ?? []) parseCidr(cidr);
  const nonAdmin = new Set(options.nonAdminClients ?? []);
  const settings: LocalRegistrySettings = { ...initialSettings };
  const store = new RegistryStore(now);
  const current = isDocumentDbGeneration(generation)
    ? new CurrentGeneration(
        store,
        now,
        { allowedCidrs: options.allowedCidrs ?? [], allowedHosts: options.allowedHosts ?? [] },
        generation,
      )
    : undefined;
  const scan: ScanSettings = { ...DEFAULT_SCAN, ...options.scan };
  if (generation !== '1.32' && (scan.allowUnsafeServers || !scan.blockOnScanFailure)) {
    throw new Error(
      'scan.allowUnsafeServers and scan.blockOnScanFailure are registry 1.31/1.32 settings: use generation 1.32',
    );
  }
  const faults = new Faults();
  /** Background scans not yet finished: their timer and what they do when it fires. */
  const scanTimers = new Map<NodeJS.Timeout, () => void>();
  const tokens = new TokenIssuer({
    staticTokens: options.staticToken === undefined ? [] : [options.staticToken],
    clients: options.clients ?? {},
    ttlSeconds: options.tokenTtlSeconds ?? 300,
    now,
  });
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  let log: LoggedRequest[] = [];
  const pendingDelays = new Set<() => void>();
  let stopped = false;

  const applySeed = (data: SeedData): void => {
    for (const server of data.servers ?? []) store.putServer(server);
    for (const agent of data.agents ?? []) store.putAgent(agent);
    store.applyState(data.state ?? {});
    current?.adopt();
  };
  if (options.seed) applySeed(options.seed);

  /** Waits `ms`, or less when the registry stops; resolves false when stopped. */
  const wait = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pendingDelays.delete(done);
        resolve(!stopped);
      };
      const timer = setTimeout(done, ms);
      pendingDelays.add(done);
    });

  const refused = (auth: TokenCheck): Answer => {
    if (current) return { status: 401, body: { error: 'Authentication required' } };
    if (generation === '1.0.16') {
      return auth === 'invalid'
        ? { status: 403, body: { error: 'Access forbidden' } }
        : { status: 401, body: NGINX_401_HTML, headers: { 'content-type': 'text/html' } };
    }
    return { status: 401, body: { detail: 'Not authenticated' } };
  };

  /**
   * After a server write: the security scan, when a verdict is armed (otherwise it passes and
   * changes nothing). `captured` is the entry handed to the scan task; the write answered first.
   */
  const scanAfterWrite = (path: string, captured: ServerRecord | undefined): void => {
    const outcome = faults.takeScanFailure();
    if (!outcome) return;
    const entry = captured ?? store.getServer(path);
    if (outcome.delayMs <= 0) {
      applyScan(path, entry, outcome, false);
      return;
    }
    const finish = (): void => {
      scanTimers.delete(timer);
      if (!stopped) applyScan(path, entry, outcome, scan.staleWriteBack);
    };
    const timer = setTimeout(finish, outcome.delayMs);
    scanTimers.set(timer, finish);
  };

  /**
   * The scan's verdict acted on, as `_perform_security_scan_on_registration` does: the tag (and on
   * 1.32 with `allowUnsafeServers` the blocked tools) saved with `update_server(path, entry)`, the
   * entry as handed to the scan (`writeBack`), then `toggle_service(path, False)` when blocking.
   */
  const applyScan = (
    path: string,
    entry: ServerRecord | undefined,
    outcome: ScanOutcome,
    writeBack: boolean,
  ): void => {
    const found = store.lookupServer(path);
    if (found === undefined) return;
    const [storedPath, stored] = found;
    // 1.32 SECURITY_BLOCK_ON_SCAN_FAILURE=false: a scan that could not run changes nothing.
    if (outcome.verdict === 'error' && !scan.blockOnScanFailure) return;
    const allowUnsafe = outcome.verdict === 'unsafe' && scan.allowUnsafeServers;
    const base = writeBack && entry !== undefined ? structuredClone(entry) : { ...stored };
    const changes: ServerRecord = {};
    const tags = Array.isArray(base.tags) ? base.tags : [];
    if (outcome.tag && !tags.includes('security-pending')) changes.tags = [...tags, 'security-pending'];
    if (allowUnsafe) {
      const tools = outcome.tools ?? toolNames(base.tool_list);
      const blocked = Array.isArray(stored.blocked_tools) ? stored.blocked_tools.map(String) : [];
      changes.blocked_tools = [...new Set([...blocked, ...tools])].sort();
    }
    // The registry writes the record only when the scan has something to add to it.
    if (Object.keys(changes).length > 0) {
      store.replaceServer(storedPath, { ...base, ...changes, path: storedPath });
      current?.touchServer(storedPath);
    }
    if (!allowUnsafe) {
      store.setEnabled(storedPath, false);
      current?.touchServer(storedPath);
    }
  };

  const route = (
    method: string,
    path: string,
    query: URLSearchParams,
    body: Body,
    auth: TokenCheck,
    who: Principal,
    ifMatch: string | undefined,
    entry: LoggedRequest,
  ): Answer => {
    if (path === TOKEN_PATH) {
      return method === 'POST' ? tokens.tokenEndpoint(body.form, body.authorization) : methodNotAllowed();
    }
    if (!path.startsWith('/api/')) return NOT_FOUND;
    // nginx's auth_request runs before the registry sees the request.
    if (auth !== 'static' && auth !== 'keycloak') return refused(auth);
    if (path === '/api/servers') {
      if (method !== 'GET') return methodNotAllowed();
      return current ? current.listServers(query, who) : store.listServers(query, settings.listShape);
    }
    if (path === '/api/servers/register') {
      return method === 'POST' ? register(body, who, entry) : methodNotAllowed();
    }
    const toolPath = under(path, '/api/servers/toggle-tool/');
    if (toolPath !== undefined && current && method === 'POST') {
      return current.toggleTool(toolPath, body.form, body.json, who);
    }
    if (path === '/api/servers/toggle') {
      if (method !== 'POST') return methodNotAllowed();
      if (current && !who.isAdmin) return { status: 403, body: { detail: 'Admin access required' } };
      const answer = store.toggle(body.form);
      if (answer.status === 200) current?.touchServer(body.form.get('path') ?? '');
      return answer;
    }
    if (generation !== undefined && under(path, '/api/server_details/') !== undefined) {
      // The UI's whole-record read (`get_server_details`) depends on `enhanced_auth`, which reads only
      // the session cookie: a bearer token that passed nginx is still 401 (v1.0.16 at 0395a64 and 1.29).
      return method === 'GET'
        ? { status: 401, body: { detail: 'Authentication required' } }
        : methodNotAllowed();
    }
    const serverPath = under(path, '/api/servers/');
    if (serverPath !== undefined && method === 'GET') {
      if (!settings.singleRoute) return NOT_FOUND;
      return current ? current.getServer(serverPath, who) : store.getServerRoute(serverPath);
    }
    if (serverPath !== undefined && (method === 'PATCH' || method === 'PUT') && current) {
      if (body.jsonError) return jsonInvalid();
      const between = (storedPath: string): void => {
        const edit = faults.takeEdit();
        const record = store.getServer(storedPath);
        if (edit === undefined || record === undefined) return;
        entry.fault = 'edit';
        store.replaceServer(storedPath, { ...edit(record), path: storedPath });
        current.touchServer(storedPath);
      };
      const answer =
        method === 'PATCH'
          ? current.patchServer(serverPath, body.json, ifMatch, who, between)
          : current.putServer(serverPath, body.json, ifMatch, who, between);
      if (answer.written !== undefined && answer.urlChanged) scanAfterWrite(answer.written, answer.captured);
      return {
        status: answer.status,
        body: answer.body,
        ...(answer.headers ? { headers: answer.headers } : {}),
      };
    }
    if (path === '/api/agents') {
      // The agent list (`{"agents": [...], "total_count": n}`), unpaged: registries hold few agents.
      if (method !== 'GET') return methodNotAllowed();
      const agents = store.agentPaths().map((p) => store.getAgentRoute(p).body);
      return { status: 200, body: { agents, total_count: agents.length } };
    }
    const agentPath = under(path, '/api/agents/');
    if (agentPath !== undefined) {
      if (method === 'GET')
        return current ? current.getAgent(agentPath, who) : store.getAgentRoute(agentPath);
      if (method === 'PUT') {
        if (body.jsonError) return jsonInvalid();
        return current
          ? current.putAgent(agentPath, body.json, who)
          : store.putAgentRoute(agentPath, body.json);
      }
      if (method === 'PATCH' && current) {
        return body.jsonError ? jsonInvalid() : current.patchAgent(agentPath, body.json, ifMatch, who);
      }
      return methodNotAllowed();
    }
    return NOT_FOUND;
  };

  const register = (body: Body, who: Principal, entry: LoggedRequest): Answer => {
    if (faults.takeLostWrite()) {
      return created(body.form.get('path') ?? '', body.form.get('name') ?? '');
    }
    const base = (form: URLSearchParams): Answer & { written?: string } => {
      if (faults.takeRegisterError()) {
        entry.fault = 'register-error';
        // v1.0.16's route puts the exception's text after the same words.
        return current
          ? REGISTRATION_FAILED
          : { status: 500, body: { detail: 'Service registration failed: injected storage error' } };
      }
      return store.register(form, settings.storage);
    };
    const answer = current ? current.register(body.form, who, base) : base(body.form);
    if (answer.written !== undefined) scanAfterWrite(answer.written, undefined);
    return { status: answer.status, body: answer.body };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const raw = await readBody(req, maxBodyBytes);
    const body = parseBody(raw, req.headers['content-type'], req.headers.authorization);
    const auth = tokens.check(req.headers.authorization);
    const entry: LoggedRequest = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      ...(body.formFields ? { form: redact(body.formFields) } : {}),
      ...(body.json !== undefined ? { json: body.json } : {}),
      auth,
      ...(typeof req.headers['if-match'] === 'string' ? { ifMatch: req.headers['if-match'] } : {}),
      status: 0,
    };
    log.push(entry);
    if (raw === undefined)
      return send(res, entry, { status: 413, body: { detail: 'Request body too large' } });

    const delay = faults.takeDelay(method, path);
    if (delay !== undefined) {
      entry.fault = 'delay';
      if (!(await wait(delay))) return void res.destroy();
    }
    const fault = faults.takeAnswer(method, path);
    if (fault?.kind === 'drop') {
      entry.fault = 'drop';
      return void req.socket.destroy();
    }
    if (fault?.kind === 'status') {
      entry.fault = 'status';
      const headers = fault.html ? { headers: { 'content-type': 'text/html' } } : {};
      return send(res, entry, { status: fault.status, body: fault.body, ...headers });
    }
    if (fault?.kind === 'unauthorized') {
      entry.fault = 'unauthorized';
      return send(res, entry, refused('expired'));
    }
    if (fault?.kind === 'huge') {
      entry.fault = 'huge';
      return streamHuge(res, entry, fault.bytes);
    }

    const clientId = tokens.clientIdOf(req.headers.authorization);
    const who: Principal =
      auth === 'static'
        ? { username: 'admin', isAdmin: true }
        : { username: clientId ?? 'anonymous', isAdmin: clientId !== undefined && !nonAdmin.has(clientId) };
    const ifMatch = req.headers['if-match'];
    const answer = route(method, path, url.searchParams, body, auth, who, ifMatch, entry);
    if (fault?.kind === 'truncate') {
      entry.fault = 'truncate';
      return sendTruncated(res, entry, answer);
    }
    send(res, entry, answer);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in this tool, not a registry behaviour: answer 500 and say so on stderr.
      console.error('local registry: unhandled error', error);
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    tokenUrl: `${url}${TOKEN_PATH}`,
    settings,
    generation,
    scan,
    faults,
    finishScans: () => {
      const pending = [...scanTimers.entries()];
      for (const [timer, finish] of pending) {
        clearTimeout(timer);
        finish();
      }
      return pending.length;
    },
    requests: () => log.map((e) => structuredClone(e)),
    clearRequests: () => {
      log = [];
    },
    getServer: (path) => store.getServer(path),
    putServer: (record, opts = {}) => {
      store.putServer(record, opts.enabled);
      current?.adopt();
    },
    editServer: (path, changes) => {
      const found = store.lookupServer(path);
      if (found === undefined) throw new Error(`no server at ${path}`);
      const [storedPath, record] = found;
      store.replaceServer(storedPath, { ...record, ...structuredClone(changes), path: storedPath });
      current?.touchServer(storedPath);
      return store.getServer(storedPath) ?? {};
    },
    deleteServer: (path) => store.deleteServer(path),
    serverPaths: () => store.serverPaths(),
    isEnabled: (path) => store.isEnabled(path),
    setEnabled: (path, enabled) => store.setEnabled(path, enabled),
    getAgent: (path) => store.getAgent(path),
    putAgent: (card) => {
      const stored = store.putAgent(card);
      current?.adopt();
      return store.getAgent(agentPathOf(card)) ?? stored;
    },
    agentPaths: () => store.agentPaths(),
    seed: applySeed,
    reset: () => {
      store.clear();
      if (options.seed) applySeed(options.seed);
      Object.assign(settings, initialSettings);
      Object.assign(scan, DEFAULT_SCAN, options.scan);
      for (const timer of scanTimers.keys()) clearTimeout(timer);
      scanTimers.clear();
      faults.clear();
      log = [];
    },
    issueToken: (clientId = DEFAULT_CLIENT_ID, ttlSeconds) => tokens.issue(clientId, ttlSeconds).access_token,
    expireTokens: () => tokens.expireAll(),
    stop: async () => {
      stopped = true;
      for (const timer of scanTimers.keys()) clearTimeout(timer);
      for (const release of [...pendingDelays]) release();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A parsed request body. */
interface Body {
  form: URLSearchParams;
  formFields?: Record<string, string>;
  json?: unknown;
  /** The body was meant as JSON but did not parse. */
  jsonError: boolean;
  authorization: string | undefined;
}

function parseBody(
  raw: Buffer | undefined,
  contentType: string | undefined,
  authorization: string | undefined,
): Body {
  const text = raw?.toString('utf8') ?? '';
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(text);
    return { form, formFields: Object.fromEntries(form), jsonError: false, authorization };
  }
  if (type === 'application/json' && text !== '') {
    try {
      return { form: new URLSearchParams(), json: JSON.parse(text), jsonError: false, authorization };
    } catch {
      return { form: new URLSearchParams(), jsonError: true, authorization };
    }
  }
  return { form: new URLSearchParams(), jsonError: false, authorization };
}

/** The body, or undefined when it is larger than `limit`. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, entry: LoggedRequest, answer: Answer): void {
  entry.status = answer.status;
  // The client may have given up (timeout) while a delayed answer was pending.
  if (res.destroyed || res.writableEnded) return;
  const html = answer.headers?.['content-type'] === 'text/html';
  const payload = html ? String(answer.body) : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    ...answer.headers,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** The answer's headers with its full `content-length`, then half its body, then the connection closes. */
function sendTruncated(res: ServerResponse, entry: LoggedRequest, answer: Answer): void {
  entry.status = answer.status;
  if (res.destroyed || res.writableEnded) return;
  const payload = Buffer.from(JSON.stringify(answer.body));
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    ...answer.headers,
    'content-length': payload.length,
  });
  res.write(payload.subarray(0, Math.floor(payload.length / 2)));
  // Let the partial body reach the socket, then cut the connection.
  setImmediate(() => res.socket?.destroy());
}

/** A 200 of `bytes` bytes in 64 KiB chunks, without `content-length`, honouring backpressure; stops when the client goes. */
function streamHuge(res: ServerResponse, entry: LoggedRequest, bytes: number): void {
  entry.status = 200;
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let left = bytes;
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  res.on('close', () => {
    left = 0;
  });
  pump();
}

/** The names of a stored `tool_list`'s tools. */
function toolNames(toolList: unknown): string[] {
  if (!Array.isArray(toolList)) return [];
  return toolList.flatMap((tool) =>
    typeof tool === 'object' && tool !== null && typeof (tool as { name?: unknown }).name === 'string'
      ? [(tool as { name: string }).name]
      : [],
  );
}

function redact(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, REDACTED_FIELDS.has(k) ? '[redacted]' : v]),
  );
}

/** The decoded path below `prefix` with a leading slash (`/api/servers/a%20b/` → `/a b/`), or undefined. */
function under(path: string, prefix: string): string | undefined {
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  try {
    return `/${decodeURIComponent(path.slice(prefix.length))}`;
  } catch {
    return undefined;
  }
}

function methodNotAllowed(): Answer {
  return { status: 405, body: { detail: 'Method Not Allowed' } };
}

function jsonInvalid(): Answer {
  return {
    status: 422,
    body: { detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] },
  };
}
