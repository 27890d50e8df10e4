/**
 * The registry client's HTTP: one exchange on the wire, and one registry request above it.
 *
 * The exchange (`exchange`), with the registry or the token endpoint, is on Node's own `node:http`
 * / `node:https` with keep-alive agents: one deadline for the connection, the headers and the body;
 * no redirect followed (a redirect is answered as it is, so a bearer token and a write are never
 * re-sent somewhere we were not told to); the body read as a stream and cut at a size cap.
 *
 * Why not `fetch`: the SDK clients' HTTP handler already loads `node:https`, so these calls add no
 * module to a cold start, while the first `fetch` of a process loads undici (with its own HTTP/1
 * and HTTP/2 clients), about 30 ms on Node 24. docs/design.md, "Benchmarks", has the figures.
 *
 * The request (`RegistryHttp`): one bearer-authenticated request with a per-attempt deadline,
 * bounded retries with backoff for faults a later attempt may not see (network errors, timeouts,
 * 5xx, 429), and one token refresh on a 401. It never logs or throws a token, a header or a body
 * that we sent; error messages name the entry, the request and the HTTP status.
 *
 * Then what an answer says, whatever the entry: its JSON, its `detail`, whether a route is missing,
 * whether a list has more pages.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { realSleep } from '../config/defaults';
import { PermanentError, ReconcilerError, ResponseTooLargeError, RetryableError } from '../errors';
import { parseJson } from '../json';
import type { ApiName, CallContext, EntryRef } from '../reconcile/ports';
import { type LoggerLike, SILENT_LOGGER } from '../telemetry/telemetry';
import type { TokenProvider } from './auth';

// ---- one exchange on the wire ----

/** Default cap for any body the client reads: far above a registry's largest real answer. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * Connections are kept for the next call of the same warm container. A socket idle for longer than
 * this is closed first: load balancers in front of the registry drop idle ones after 60 s or so.
 */
const KEEP_ALIVE = { keepAlive: true, timeout: 30_000 } as const;
let httpAgent: HttpAgent | undefined;
let httpsAgent: HttpsAgent | undefined;

export interface HttpExchange {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Covers connecting, the answer's headers and its whole body. */
  timeoutMs: number;
  /** Largest body read; more fails with `ResponseTooLargeError`. */
  maxResponseBytes: number;
}

export interface HttpAnswer {
  status: number;
  /** A header of the answer (name in lower case), the first value when it came more than once. */
  header(name: string): string | undefined;
  /** The body as UTF-8 text ('' when there is none). */
  text: string;
}

/**
 * Sends one request. Rejects with the `node:http` error on network faults (its `code`, e.g.
 * `ECONNREFUSED`), with a `TimeoutError` when the deadline passed,
 * and with `ResponseTooLargeError` (naming the URL's path, never its query) past the cap.
 */
export function exchange(x: HttpExchange): Promise<HttpAnswer> {
  const url = new URL(x.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent = agentFor(url.protocol);
  const headers: Record<string, string> = { ...x.headers };
  if (x.body !== undefined) headers['content-length'] = String(Buffer.byteLength(x.body));
  const signal = AbortSignal.timeout(x.timeoutMs);
  return new Promise<HttpAnswer>((resolve, reject) => {
    // Past the deadline, whatever broke (the socket, the body stream) is the deadline's doing.
    const fail = (error: unknown) => reject(signal.aborted ? signal.reason : error);
    const req = send(url, { method: x.method, headers, agent, signal }, (res) => {
      readCapped(res, x.maxResponseBytes, url.pathname).then(
        (text) => resolve(answer(res, text)),
        (error: unknown) => {
          res.destroy();
          fail(error);
        },
      );
    });
    req.on('error', fail);
    req.end(x.body);
  });
}

/** The keep-alive agent of a protocol, made on its first request. */
function agentFor(protocol: string): HttpAgent {
  if (protocol === 'https:') {
    httpsAgent ??= new HttpsAgent(KEEP_ALIVE);
    return httpsAgent;
  }
  httpAgent ??= new HttpAgent(KEEP_ALIVE);
  return httpAgent;
}

function answer(res: IncomingMessage, text: string): HttpAnswer {
  return {
    status: res.statusCode ?? 0,
    header(name) {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    text,
  };
}

/** Reads the body up to `capBytes`, refusing at once a larger `content-length`. */
async function readCapped(res: IncomingMessage, capBytes: number, urlPath: string): Promise<string> {
  const announced = Number(res.headers['content-length']);
  if (Number.isFinite(announced) && announced > capBytes) throw new ResponseTooLargeError(urlPath, capBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > capBytes) throw new ResponseTooLargeError(urlPath, capBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A deadline ran out (our `AbortSignal.timeout`, or an abort it caused). */
export function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

// ---- the JSON the registry and Keycloak answer with ----

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value when it is a JSON object, else undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return isObject(value) ? value : undefined;
}

/**
 * Parsed JSON, or undefined for an empty or malformed text: an answer body is judged by its shape
 * afterwards, and its text is never quoted (it may carry a secret).
 */
export function jsonOrUndefined(text: string): unknown {
  if (text.trim() === '') return undefined;
  const parsed = parseJson(text);
  return parsed.ok ? parsed.value : undefined;
}

// ---- one registry request ----

/** The registry could not be reached or failed on its side: a later attempt may succeed. */
export class RegistryUnavailableError extends RetryableError {
  /** The last HTTP status seen, when the last failure was an HTTP answer. */
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.status = options.status;
  }
}

/** The registry refused the request (a 4xx): repeating it cannot help. */
export class RegistryRejectedError extends PermanentError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The registry did not accept the token (401, or v1.0.16's 403 "Access forbidden"), even after a refresh. */
export class RegistryAuthError extends RegistryRejectedError {}

/** The principal is known but lacks a permission or the ownership a route needs (403). */
export class RegistryPermissionError extends RegistryRejectedError {}

/** The registry answered in a shape the client does not understand. */
export class RegistryResponseError extends PermanentError {}

/** One request to the registry. */
export interface RegistryRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** Path under the registry's base URL, with any query: `/api/servers?limit=500&offset=0`. */
  path: string;
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: URLSearchParams;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Counted on the call context once per HTTP request sent (each attempt, each page). */
  api: ApiName;
  /** The entry the request is about, for error messages. */
  entry: EntryRef;
  /** What the request does, for error messages: `read`, `write`, `read-back`, `toggle`. */
  action: string;
  /** Statuses the caller handles itself (404 on reads) instead of getting an error. */
  accept?: readonly number[];
  /** Extra request headers (`if-match`). */
  headers?: Record<string, string>;
  /** Attempts for this request, when fewer than the client's `maxAttempts`. */
  maxAttempts?: number;
}

/** A registry answer: the status and, when the body is JSON, the parsed body. */
export interface RegistryResponse {
  status: number;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
  /** The `Location` header of a redirect. */
  location?: string;
  /** The `ETag` header, when sent. */
  etag?: string;
  /** The body's media type (`application/json`, `text/html`), lower-case, without parameters. */
  contentType?: string;
}

/** Where the registry is and how to talk to it. */
export interface RegistryHttpOptions {
  /** The registry's public URL (through nginx), e.g. `https://registry.example.com`. */
  baseUrl: string;
  tokens: TokenProvider;
  /** Deadline for each attempt, headers and body included. */
  timeoutMs: number;
  /** Attempts per request on retryable faults (1 = no retry). The 401 refresh does not use one up. */
  maxAttempts: number;
  logger?: LoggerLike;
  /** Waits between attempts; tests inject a fake to keep retries instant. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  /** First backoff delay; doubles per attempt up to `backoffMaxMs`. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Largest answer body read; more is a non-retryable `ResponseTooLargeError`. */
  maxResponseBytes?: number;
}

const DEFAULT_BACKOFF_BASE_MS = 200;
const DEFAULT_BACKOFF_MAX_MS = 5_000;

/**
 * The longest wait `backoff()` can take between two attempts with the default base and cap: the
 * step before the last of `maxAttempts` attempts (for the time budget, delivery/budget.ts).
 */
export function maxBackoffMs(maxAttempts: number): number {
  return Math.min(DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_BASE_MS * 2 ** Math.max(0, maxAttempts - 2));
}
/** Registry error details quoted in our messages are cut to this length. */
const MAX_DETAIL = 200;

/** Sends registry requests with authentication, deadlines, retries and clear errors. */
export class RegistryHttp {
  private readonly baseUrl: string;
  private readonly logger: LoggerLike;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: RegistryHttpOptions) {
    if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be an integer >= 1, got ${options.maxAttempts}`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.logger = options.logger ?? SILENT_LOGGER;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.backoffBaseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.backoffMaxMs = options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * Sends one request. Resolves with 2xx answers and the statuses in `accept`; throws
   * `RegistryRejectedError` on other 4xx (after one token refresh on a 401) and
   * `RegistryUnavailableError` once retryable faults have used up `maxAttempts`.
   */
  async send(request: RegistryRequest, ctx: CallContext): Promise<RegistryResponse> {
    const what = describeRequest(request);
    let refreshed = false;
    let forceRefresh = false;
    for (let attempt = 1; ; attempt++) {
      let failure: { reason: string; status?: number; cause?: unknown };
      try {
        const token = await this.options.tokens.getToken(
          ctx,
          forceRefresh ? { forceRefresh: true } : undefined,
        );
        forceRefresh = false;
        ctx.count(request.api);
        const response = await this.sendOnce(request, token);
        if ((response.status === 401 || isTokenForbidden(response)) && !refreshed) {
          // An expired or revoked token: get a fresh one and try once more, without using up an attempt.
          refreshed = true;
          forceRefresh = true;
          attempt--;
          this.logger.info(
            'registry answered 401; refreshing the token and retrying once',
            logFields(request),
          );
          continue;
        }
        if (isOk(response.status) || request.accept?.includes(response.status)) return response;
        if (response.status === 401 || isTokenForbidden(response)) {
          throw new RegistryAuthError(`${what}: ${describeAuthFailure(response)}`, response.status);
        }
        if (response.status === 403) {
          throw new RegistryPermissionError(
            `${what}: HTTP 403${detailOf(response.body)}: the principal lacks the permission or ownership; reading proxy_pass_url and every write need registry admin (the M2M client in registry-admins) or the entry's owner, register also needs register_service`,
            403,
          );
        }
        if (response.status < 500 && response.status !== 429) {
          const hint =
            response.location !== undefined
              ? `: redirected to ${response.location}; point the registry URL at the final address`
              : '';
          throw new RegistryRejectedError(
            `${what}: HTTP ${response.status}${detailOf(response.body)}${hint}`,
            response.status,
          );
        }
        failure = { reason: `HTTP ${response.status}${detailOf(response.body)}`, status: response.status };
      } catch (error) {
        if (error instanceof ReconcilerError) {
          if (!error.retryable) throw error;
          failure = { reason: error.message, cause: error };
        } else if (isTimeout(error)) {
          failure = { reason: `timed out after ${this.options.timeoutMs} ms`, cause: error };
        } else {
          failure = { reason: `network error (${networkCode(error)})`, cause: error };
        }
      }
      if (attempt >= Math.min(this.options.maxAttempts, request.maxAttempts ?? Number.POSITIVE_INFINITY)) {
        throw new RegistryUnavailableError(
          `${what} failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${failure.reason}`,
          failure,
        );
      }
      const delay = this.backoff(attempt);
      this.logger.warn('registry request failed; retrying', {
        ...logFields(request),
        attempt,
        reason: failure.reason,
        delayMs: delay,
      });
      await this.sleep(delay);
    }
  }

  /** Exponential backoff with "equal jitter": half the step is fixed, half random. */
  private backoff(attempt: number): number {
    const step = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  private async sendOnce(request: RegistryRequest, token: string): Promise<RegistryResponse> {
    const headers: Record<string, string> = {
      ...request.headers,
      authorization: `Bearer ${token}`,
      accept: 'application/json',
    };
    let body: string | undefined;
    if (request.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = request.form.toString();
    } else if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    }
    // One deadline covers the connection, the headers and the body. A redirect is answered as it
    // is: it means a misconfigured URL (http -> https, another host), reported rather than
    // followed with a bearer token and a write.
    const response = await exchange({
      method: request.method,
      url: `${this.baseUrl}${request.path}`,
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs: this.options.timeoutMs,
      maxResponseBytes: this.maxResponseBytes,
    });
    const text = response.text;
    const location = response.header('location');
    const etag = response.header('etag');
    const contentType = response.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    return {
      status: response.status,
      body: jsonOrUndefined(text),
      ...(location === undefined ? {} : { location }),
      ...(etag === undefined ? {} : { etag }),
      ...(contentType === undefined || contentType === '' ? {} : { contentType }),
    };
  }
}

/** v1.0.16 answers a wrong static token with `403 {"error":"Access forbidden"}`: a token problem, not a permission. */
function isTokenForbidden(response: RegistryResponse): boolean {
  const body = response.body as { error?: unknown } | undefined;
  return response.status === 403 && body?.error === 'Access forbidden';
}

/** Names the answer by generation: each one words a refused token differently. */
function describeAuthFailure(response: RegistryResponse): string {
  if (response.status === 403) {
    return 'HTTP 403 (Access forbidden): the registry (v1.0.16) does not know this token, even after a refresh; check registry.auth';
  }
  if (response.contentType === 'text/html') {
    return "HTTP 401 from nginx's HTML error page: no valid token reached the registry's auth check (v1.0.16 answers a missing or expired token so), even after a refresh; check registry.auth";
  }
  return `HTTP 401${detailOf(response.body)}: the token was rejected even after a refresh; check registry.auth`;
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

/** `registry read of server /currenttime/ (GET /api/servers/currenttime/)`; the query is left out. */
export function describeRequest(
  request: Pick<RegistryRequest, 'method' | 'path' | 'entry' | 'action'>,
): string {
  const pathname = request.path.split('?')[0];
  return `registry ${request.action} of ${request.entry.kind} ${request.entry.path} (${request.method} ${pathname})`;
}

function logFields(request: RegistryRequest): Record<string, unknown> {
  return {
    kind: request.entry.kind,
    path: request.entry.path,
    action: request.action,
    method: request.method,
    url: request.path.split('?')[0],
  };
}

/**
 * The registry's own explanation, when it gave one: FastAPI's `detail` (a string, or a list of
 * validation problems) or the register route's `error` / `reason`. Shortened; never our request.
 */
function detailOf(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const b = body as { detail?: unknown; error?: unknown; reason?: unknown };
  let text = '';
  if (typeof b.detail === 'string') text = b.detail;
  else if (Array.isArray(b.detail)) {
    text = b.detail
      .map((d: { loc?: unknown; msg?: unknown }) =>
        [Array.isArray(d?.loc) ? d.loc.join('.') : '', typeof d?.msg === 'string' ? d.msg : '']
          .filter((s) => s !== '')
          .join(': '),
      )
      .join('; ');
  } else if (typeof b.error === 'string') {
    text = typeof b.reason === 'string' ? `${b.error}: ${b.reason}` : b.error;
  }
  if (text === '') return '';
  return ` (${text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text})`;
}

/** The most specific code of a network failure (`ECONNREFUSED`, `ECONNRESET`, …). */
function networkCode(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : 'unknown';
}

/** Whether a read is the first look at an entry or the confirmation after a write. */
export interface ReadPhase {
  api: Extract<ApiName, 'registry.read' | 'registry.readBack'>;
  action: 'read' | 'read-back' | 'verify';
}
export const READ: ReadPhase = { api: 'registry.read', action: 'read' };
export const READ_BACK: ReadPhase = { api: 'registry.readBack', action: 'read-back' };
export const VERIFY: ReadPhase = { api: 'registry.read', action: 'verify' };

// ---- what an answer says ----

/** FastAPI's own 404/405 for a path no route matches (`{"detail":"Not Found"}`), not an entry's absence. */
export function isRouteMissing(response: RegistryResponse): boolean {
  return detailText(response) === 'Not Found';
}

/** The answer's `detail` (cut short), or its status. */
export function detailText(response: RegistryResponse): string {
  const detail = (response.body as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' ? detail.slice(0, 200) : `HTTP ${response.status}`;
}

/** `/currenttime/` → `/currenttime/`, each segment percent-encoded, slashes (and the trailing one) kept. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * Whether a list answer says more pages follow: its `has_next`, else its `total_count` against
 * what the pages so far held. v1.0.16 ignores limit/offset and sends neither: no more pages.
 */
export function hasNextPage(body: Record<string, unknown>, offset: number, count: number): boolean {
  if (typeof body.has_next === 'boolean') return body.has_next;
  return typeof body.total_count === 'number' && offset + count < body.total_count;
}
