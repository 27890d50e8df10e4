/**
 * Errors say whether a retry can help. Retryable ones are allowed to reach the platform
 * (SQS redelivery, Lambda retries); permanent ones are logged with a reason and counted.
 */
export class ReconcilerError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable;
  }
}

/** A fault that a later attempt may not see: network errors, 5xx, throttling, Cloud Map lag. */
export class RetryableError extends ReconcilerError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: true, ...options });
  }
}

/** A fault that a retry cannot fix: a 4xx from the registry, a missing entry, bad input. */
export class PermanentError extends ReconcilerError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: false, ...options });
  }
}

/** The configuration is invalid; the message names the bad field. Thrown at cold start. */
export class ConfigError extends Error {
  /** Each problem of an invalid configuration (`field: what is wrong`), when it was validated. */
  readonly problems: readonly string[];

  constructor(message: string, options: { cause?: unknown; problems?: readonly string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigError';
    this.problems = options.problems ?? [];
  }
}

/** The registry has no entry at the target's path. The reconciler never creates entries. */
export class EntryNotFoundError extends PermanentError {
  constructor(
    readonly kind: 'server' | 'agent',
    readonly path: string,
  ) {
    super(`registry has no ${kind} at path ${path}`);
  }
}

const RETRYABLE_SDK_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServiceError',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
]);

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/**
 * Whether a retry can help with this error. Our own errors say so explicitly; AWS SDK errors are
 * judged by their `$retryable` flag, HTTP status and name; bare network errors are retryable.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ReconcilerError) return error.retryable;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: unknown;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    cause?: unknown;
  };
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  if (typeof e.name === 'string' && RETRYABLE_SDK_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && RETRYABLE_NETWORK_CODES.has(e.code)) return true;
  if (e.cause !== undefined && e.cause !== error) return isRetryable(e.cause);
  return false;
}

/** A one-line description of an error that is safe to log: name and message, never a stack or payload. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * The registry's URL security policy (1.26+: `SSRF_ALLOWED_CIDRS` / `SSRF_ALLOWED_HOSTS`) refused
 * the address. A retry cannot help until the registry's operator allow-lists the tasks' subnets.
 */
export class PolicyDeniedError extends PermanentError {
  readonly code = 'policy-denied';

  constructor(
    readonly kind: 'server' | 'agent',
    readonly path: string,
    /** The address the write needed (`http://10.0.1.9:8000/`). */
    readonly address: string,
    /** The registry's own words, shortened. */
    readonly detail: string,
  ) {
    super(
      `registry URL security policy refused ${kind} ${path} -> ${address} (${detail}): allow the tasks' subnets in the registry's SSRF_ALLOWED_CIDRS (or the host in SSRF_ALLOWED_HOSTS); see docs/deploy.md, "Registry URL policy"`,
    );
  }
}

/** An HTTP answer (registry or token endpoint) was larger than the configured cap; reading stopped there. */
export class ResponseTooLargeError extends PermanentError {
  constructor(
    readonly urlPath: string,
    readonly capBytes: number,
  ) {
    super(
      `answer from ${urlPath} exceeds the ${capBytes}-byte cap (registry.maxResponseBytes); stopped reading`,
    );
  }
}

/**
 * A compare-and-swap write found the entry changed since it was read (412), and no re-decision was
 * possible. `current` is the entry as read again: decide again from it; never overwrite blindly.
 * Retryable, so an unhandled conflict is re-decided on the next delivery.
 */
export class WriteConflictError extends RetryableError {
  readonly code = 'stale';

  constructor(
    message: string,
    readonly current: unknown,
  ) {
    super(message);
  }
}
