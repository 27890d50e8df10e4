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
  | { kind: 'status'; status: number; body: unknown }
  /** Close the connection without an answer: the client sees a network error. */
  | { kind: 'drop' }
  /** Answer 401 whatever the token ("401 once"). */
  | { kind: 'unauthorized' }
  /** Wait this long, then handle the request normally. */
  | { kind: 'delay'; ms: number }
  /** Answer 200 with a body of this many bytes, streamed without a `content-length`. */
  | { kind: 'huge'; bytes: number };

interface Armed {
  fault: Fault;
  remaining: number;
  match: FaultMatch;
}

const DEFAULT_MATCH: FaultMatch = { path: '/api/' };

/** Faults armed for coming requests, plus the security-scan simulation for coming writes. */
export class Faults {
  private armed: Armed[] = [];
  private scans: { remaining: number; tag: boolean; delayMs: number }[] = [];
  private lostWrites = 0;

  /** The next `count` matching requests get `status` (503 by default) and a FastAPI-style body. */
  failNext(count: number, options: { status?: number; body?: unknown; match?: FaultMatch } = {}): void {
    const status = options.status ?? 503;
    this.arm(
      { kind: 'status', status, body: options.body ?? { detail: `injected HTTP ${status}` } },
      count,
      options.match,
    );
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
    this.scans.push({ remaining: count, tag: options.tag ?? true, delayMs: options.delayMs ?? 0 });
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
  }

  /** How many armed faults are left (for assertions that they were used). */
  pending(): { requests: number; scans: number; lostWrites: number } {
    const sum = (xs: { remaining: number }[]) => xs.reduce((n, x) => n + x.remaining, 0);
    return { requests: sum(this.armed), scans: sum(this.scans), lostWrites: this.lostWrites };
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

  /** @internal Whether the security scan fails for this write; returns whether to tag. */
  takeScanFailure(): { tag: boolean; delayMs: number } | undefined {
    const scan = this.scans.find((s) => s.remaining > 0);
    if (scan === undefined) return undefined;
    scan.remaining--;
    return { tag: scan.tag, delayMs: scan.delayMs };
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
