/**
 * Fault injection for the local registry: tests arm a fault for the next N matching requests
 * (or writes) and the server applies it. Faults are consumed in the order they were armed.
 */

/** Which requests a fault applies to. By default: every request under `/api/`. */
export interface FaultMatch {
  /** HTTP method, e.g. `GET`. Any method when absent. */
  method?: string;
  /** A path prefix (`/api/servers/register`) or a pattern tested against the path. */
  path?: string | RegExp;
}

/** A fault the server applies to one request. */
export type Fault =
  /** Answer with this status (a 5xx by default) instead of handling the request. */
  | { kind: 'status'; status: number; body: unknown; html?: boolean }
  /** Close the connection without an answer: the client sees a network error. */
  | { kind: 'drop' }
  /** Answer 401 whatever the token ("401 once"). */
  | { kind: 'unauthorized' }
  /** Wait this long, then handle the request normally. */
  | { kind: 'delay'; ms: number }
  /** Answer 200 with a body of this many bytes, streamed without a `content-length`. */
  | { kind: 'huge'; bytes: number }
  /** Handle the request, announce the whole answer's `content-length`, send part of it and close. */
  | { kind: 'truncate' };

/**
 * What the security scan finds: `unsafe` (findings), or `error` (the scan could not run; 1.29 and
 * a default 1.32 treat that as unsafe, 1.32 with `blockOnScanFailure: false` does nothing).
 */
export type ScanVerdict = 'unsafe' | 'error';

/** One armed scan result, as the server takes it. */
export interface ScanOutcome {
  verdict: ScanVerdict;
  /** Add the `security-pending` tag (the registry's `SECURITY_ADD_PENDING_TAG`, default true). */
  tag: boolean;
  /** 0: before the write answers; otherwise that long after it, in the background. */
  delayMs: number;
  /** The flagged tools (1.32 with `allowUnsafeServers` blocks these); every tool of the record when absent. */
  tools?: string[];
}

/** A change another writer makes to a stored server record. */
export type ServerEdit = (record: Record<string, unknown>) => Record<string, unknown>;

/** An HTML error page as nginx sends it for a status (`502 Bad Gateway`). */
export function nginxErrorPage(status: number): string {
  const reason = HTML_REASONS[status] ?? 'Error';
  return `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

const HTML_REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Authorization Required',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Request Entity Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

interface Armed {
  fault: Fault;
  remaining: number;
  match: FaultMatch;
}

const DEFAULT_MATCH: FaultMatch = { path: '/api/' };

/** Faults armed for coming requests, plus the security-scan simulation for coming writes. */
export class Faults {
  private armed: Armed[] = [];
  private scans: (Omit<ScanOutcome, 'tools'> & { remaining: number; tools: string[] | undefined })[] = [];
  private lostWrites = 0;
  private registerErrors = 0;
  private edits: { remaining: number; edit: ServerEdit }[] = [];

  /**
   * The next `count` matching requests get `status` (503 by default) and a FastAPI-style body, or
   * with `html` nginx's HTML error page for that status (what a proxy in front answers).
   */
  failNext(
    count: number,
    options: { status?: number; body?: unknown; html?: boolean; match?: FaultMatch } = {},
  ): void {
    const status = options.status ?? 503;
    const body = options.html
      ? nginxErrorPage(status)
      : (options.body ?? { detail: `injected HTTP ${status}` });
    this.arm({ kind: 'status', status, body, html: options.html === true }, count, options.match);
  }

  /** The next `count` matching requests get their real answer cut short (a `content-length` promising more). */
  truncateNext(count: number, options: { match?: FaultMatch } = {}): void {
    this.arm({ kind: 'truncate' }, count, options.match);
  }

  /**
   * The next `count` registrations that pass the URL policy fail inside the route (a database
   * error, say): `500 {"detail":"Service registration failed"}` and nothing stored, the same body
   * the policy's refusal gets on 1.29 and 1.32.
   */
  registerErrorNext(count = 1): void {
    if (!(count > 0)) throw new RangeError(`count must be positive, got ${count}`);
    this.registerErrors += count;
  }

  /**
   * Another writer's change lands in the next `count` server PATCHes, after the handler's checks
   * (If-Match included) and before its save: 1.29 saves the record it read over it; 1.32 answers
   * 412 when If-Match was sent and otherwise keeps it (only the sent fields are set).
   */
  editDuringNext(count: number, edit: ServerEdit): void {
    if (!(count > 0)) throw new RangeError(`count must be positive, got ${count}`);
    this.edits.push({ remaining: count, edit });
  }

  /** The next `count` matching requests lose their connection without an answer. */
  dropNext(count: number, options: { match?: FaultMatch } = {}): void {
    this.arm({ kind: 'drop' }, count, options.match);
  }

  /** The next `count` matching requests are answered `ms` late. */
  delayNext(count: number, ms: number, options: { match?: FaultMatch } = {}): void {
    this.arm({ kind: 'delay', ms }, count, options.match);
  }

  /** The next `count` matching requests get 401 even with a valid token. */
  unauthorizedNext(count: number, options: { match?: FaultMatch } = {}): void {
    this.arm({ kind: 'unauthorized' }, count, options.match);
  }

  /**
   * The registry's security scan fails for the next `count` successful server writes (Infinity:
   * all of them): the server is switched off and, unless `tag` is false, tagged
   * `security-pending`. With `delayMs` 0 (default) before the write answers; otherwise in the
   * background that long after it, as both generations really do; the late scan then saves the
   * record it captured at write time (with the tag), which can put that write's address back.
   */
  disableAfterWrite(count = 1, options: { tag?: boolean; delayMs?: number } = {}): void {
    this.scanNext(count, { verdict: 'unsafe', ...options });
  }

  /**
   * The security scan of the next `count` server writes (Infinity: all of them) finds `verdict`.
   * What follows depends on the registry's scan settings (`LocalRegistryOptions.scan`): by
   * default the server is switched off and tagged `security-pending`, as `disableAfterWrite`.
   */
  scanNext(
    count = 1,
    options: { verdict?: ScanVerdict; tag?: boolean; delayMs?: number; tools?: string[] } = {},
  ): void {
    if (!(count > 0)) throw new RangeError(`count must be positive, got ${count}`);
    this.scans.push({
      remaining: count,
      verdict: options.verdict ?? 'unsafe',
      tag: options.tag ?? true,
      delayMs: options.delayMs ?? 0,
      tools: options.tools,
    });
  }

  /** The next `count` matching requests get a 200 whose body is `bytes` long (a hostile or broken endpoint). */
  hugeBodyNext(count: number, bytes: number, options: { match?: FaultMatch } = {}): void {
    this.arm({ kind: 'huge', bytes }, count, options.match);
  }

  /**
   * The next `count` registrations answer 201 but change nothing, as when the registry task that
   * took the write is not the one that serves the read-back (file storage, several tasks).
   */
  loseWrites(count = 1): void {
    this.lostWrites += count;
  }

  /** Disarms everything. */
  clear(): void {
    this.armed = [];
    this.scans = [];
    this.lostWrites = 0;
    this.registerErrors = 0;
    this.edits = [];
  }

  /** How many armed faults are left (for assertions that they were used). */
  pending(): {
    requests: number;
    scans: number;
    lostWrites: number;
    registerErrors: number;
    edits: number;
  } {
    const sum = (xs: { remaining: number }[]) => xs.reduce((n, x) => n + x.remaining, 0);
    return {
      requests: sum(this.armed),
      scans: sum(this.scans),
      lostWrites: this.lostWrites,
      registerErrors: this.registerErrors,
      edits: sum(this.edits),
    };
  }

  /** @internal Takes the first armed delay for this request, if any. */
  takeDelay(method: string, path: string): number | undefined {
    const fault = this.take(method, path, (f) => f.kind === 'delay');
    return fault?.kind === 'delay' ? fault.ms : undefined;
  }

  /** @internal Takes the first armed answer-replacing fault (status, drop, 401) for this request. */
  takeAnswer(method: string, path: string): Exclude<Fault, { kind: 'delay' }> | undefined {
    const fault = this.take(method, path, (f) => f.kind !== 'delay');
    return fault?.kind === 'delay' ? undefined : fault;
  }

  /** @internal Whether this registration is acknowledged but lost. */
  takeLostWrite(): boolean {
    if (this.lostWrites <= 0) return false;
    this.lostWrites--;
    return true;
  }

  /** @internal What the security scan of this write finds, when one is armed (else it passes). */
  takeScanFailure(): ScanOutcome | undefined {
    const scan = this.scans.find((s) => s.remaining > 0);
    if (scan === undefined) return undefined;
    scan.remaining--;
    return {
      verdict: scan.verdict,
      tag: scan.tag,
      delayMs: scan.delayMs,
      ...(scan.tools === undefined ? {} : { tools: [...scan.tools] }),
    };
  }

  /** @internal Whether this registration fails inside the route. */
  takeRegisterError(): boolean {
    if (this.registerErrors <= 0) return false;
    this.registerErrors--;
    return true;
  }

  /** @internal The concurrent change to apply inside this PATCH, if one is armed. */
  takeEdit(): ServerEdit | undefined {
    const armed = this.edits.find((e) => e.remaining > 0);
    if (armed === undefined) return undefined;
    armed.remaining--;
    return armed.edit;
  }

  private arm(fault: Fault, count: number, match: FaultMatch = DEFAULT_MATCH): void {
    if (!(count > 0)) throw new RangeError(`count must be positive, got ${count}`);
    this.armed.push({ fault, remaining: count, match });
  }

  private take(method: string, path: string, wanted: (fault: Fault) => boolean): Fault | undefined {
    const armed = this.armed.find(
      (a) => a.remaining > 0 && wanted(a.fault) && matches(a.match, method, path),
    );
    if (armed === undefined) return undefined;
    armed.remaining--;
    return armed.fault;
  }
}

function matches(match: FaultMatch, method: string, path: string): boolean {
  if (match.method !== undefined && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? path.startsWith(match.path) : match.path.test(path);
}
