/** The logging the registry code needs. Powertools `Logger` satisfies it. */
export interface RegistryLogger {
  debug(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/** A logger that drops everything (the default when none is given). */
export const SILENT_LOGGER: RegistryLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
