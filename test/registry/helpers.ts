/**
 * Shared pieces for the registry tests: a local registry seeded with the shared fixtures, a real
 * client pointed at it, a counting call context, a capturing logger and an instant sleep.
 */
import { resolve } from 'node:path';
import type { ApiName, CallContext } from '../../functions/lib/reconcile/ports';
import { StaticTokenProvider } from '../../functions/lib/registry/auth';
import { RegistryClient, type RegistryClientOptions } from '../../functions/lib/registry/client';
import type { LoggerLike } from '../../functions/lib/telemetry/telemetry';
import {
  type LocalRegistry,
  type LocalRegistryOptions,
  loadSeed,
  startLocalRegistry,
} from '../../tools/local-registry';

/** Real registry records, copied verbatim from their published sources (test/fixtures/SOURCES.md). */
export const FIXTURES_DIR = resolve(__dirname, '..', 'fixtures', 'registry');
export const STATIC_TOKEN = 'test-static-token-6f1c0d';
export const TOKEN_ENV = 'TEST_REGISTRY_TOKEN';

/** The shared fixtures, loaded the way the local registry's CLI loads them. */
export const FIXTURES = loadSeed([FIXTURES_DIR]);

/** The fixture file for one server, parsed. */
export function fixtureServer(path: string): Record<string, unknown> {
  const record = FIXTURES.servers?.find((s) => s.path === path);
  if (record === undefined) throw new Error(`no fixture server at ${path}`);
  return record;
}

/** A local registry with the fixtures and a static token; stopped by the caller. */
export function startFixtureRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  return startLocalRegistry({ staticToken: STATIC_TOKEN, seed: FIXTURES, ...options });
}

/** A call context that counts calls by API. */
export function countingContext(): CallContext & { counts: Partial<Record<ApiName, number>> } {
  const counts: Partial<Record<ApiName, number>> = {};
  return {
    counts,
    count: (api) => {
      counts[api] = (counts[api] ?? 0) + 1;
    },
  };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  extra: unknown[];
}

/** A logger that keeps every line, for assertions on what was (and was not) logged. */
export function capturingLogger(): LoggerLike & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: string, ...extra: unknown[]) =>
      lines.push({ level, message, extra });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => JSON.stringify(lines),
  };
}

/** A sleep that returns at once and remembers what it was asked to wait. */
export function instantSleep(): ((ms: number) => Promise<void>) & { delays: number[] } {
  const delays: number[] = [];
  return Object.assign(
    async (ms: number) => {
      delays.push(ms);
    },
    { delays },
  );
}

/** A real client for `registry`, with a static token from a private env object and instant retries. */
export function clientFor(
  registry: LocalRegistry,
  overrides: Partial<RegistryClientOptions> = {},
): RegistryClient & { delays: number[]; logs: ReturnType<typeof capturingLogger> } {
  const sleep = instantSleep();
  const logger = capturingLogger();
  const client = new RegistryClient({
    baseUrl: registry.url,
    tokens: new StaticTokenProvider(TOKEN_ENV, { [TOKEN_ENV]: STATIC_TOKEN }),
    // A guard against a hung request, not a speed limit (tests of deadlines set their own).
    timeoutMs: 30_000,
    maxAttempts: 3,
    reenableAfterWrite: false,
    logger,
    sleep,
    random: () => 0.5,
    ...overrides,
  });
  return Object.assign(client, { delays: sleep.delays, logs: logger });
}

/** The requests the registry received, as `METHOD path` lines (query left out). */
export function requestLines(registry: LocalRegistry): string[] {
  return registry.requests().map((r) => `${r.method} ${r.path}`);
}

/** Everything an error says about itself, down its cause chain, for "no secret inside" checks. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; depth < 10 && e !== undefined && e !== null; depth++) {
    parts.push(String(e));
    if (e instanceof Error) parts.push(e.message, e.stack ?? '');
    try {
      parts.push(JSON.stringify(e));
    } catch {
      // Circular: the strings above are enough.
    }
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

/** Runs `fn` and returns what it threw (fails the test when it does not throw). */
export async function thrownBy(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}
