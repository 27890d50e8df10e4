/**
 * One HTTP exchange with the registry or the token endpoint, on Node's own `node:http` /
 * `node:https` with keep-alive agents: one deadline for the connection, the headers and the body;
 * no redirect followed (a redirect is answered as it is, so a bearer token and a write are never
 * re-sent somewhere we were not told to); the body read as a stream and cut at a size cap.
 *
 * Why not `fetch`: the SDK clients' HTTP handler already loads `node:https`, so these calls add no
 * module to a cold start, while the first `fetch` of a process loads undici (with its own HTTP/1
 * and HTTP/2 clients), about 30 ms on Node 24. docs/design.md, "Benchmarks", has the figures.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ResponseTooLargeError } from '../errors';

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
