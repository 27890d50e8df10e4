import type { LoggerLike } from '../../functions/lib/telemetry/telemetry';

/** The keys under which the reconciler logs what it decided, ignored or dropped. */
const RECORD_KEYS = ['decision', 'ignored', 'malformed', 'verification'] as const;

/**
 * A logger that prints, one JSON object per line, exactly the log entries the Lambda writes for
 * a decision (`{decision}`), an ignored event (`{ignored}`), a malformed one (`{malformed}`) or
 * a write verification (`{verification}`):
 * `level`, `message` and that key, as Powertools Logger would show them (without its timestamp
 * and Lambda context). Other log lines go to `other`, when given.
 */
export function recordLogger(write: (line: string) => void, other?: LoggerLike): LoggerLike {
  const at =
    (
      level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR',
      next: ((m: string, ...e: Record<string, unknown>[]) => void) | undefined,
    ) =>
    (message: string, ...extra: Record<string, unknown>[]) => {
      const fields = Object.assign({}, ...extra) as Record<string, unknown>;
      if (RECORD_KEYS.some((k) => k in fields)) write(JSON.stringify({ level, message, ...fields }));
      else next?.(message, ...extra);
    };
  return {
    debug: at('DEBUG', other?.debug.bind(other)),
    info: at('INFO', other?.info.bind(other)),
    warn: at('WARN', other?.warn.bind(other)),
    error: at('ERROR', other?.error.bind(other)),
  };
}

/** Reconciler log lines as JSON on stderr (`--verbose`). */
export function stderrLogger(): LoggerLike {
  const write =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      process.stderr.write(`${JSON.stringify(Object.assign({ level, message }, ...extra))}\n`);
  return { debug: write('DEBUG'), info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
}
