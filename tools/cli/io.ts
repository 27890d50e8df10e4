import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseConfig, type ReconcilerConfig } from '../../functions/lib/config/config';
import { ConfigError } from '../../functions/lib/errors';

/**
 * A path as the user typed it, from the directory they typed it in. npm runs scripts from the
 * package root and says where it was called from in `INIT_CWD`.
 */
export function fromCaller(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return isAbsolute(path) ? path : resolve(env.INIT_CWD ?? process.cwd(), path);
}

/** A text file's content without a leading byte-order mark (editors on Windows add one). */
export function readText(path: string): string {
  return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
}

/** Reads a JSON file; the error names the file and what is wrong with it. */
export function readJsonFile(path: string, what = 'file'): unknown {
  let text: string;
  try {
    text = readText(path);
  } catch (error) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`invalid ${what} ${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** Reads and validates a reconciler configuration file (the Lambda's format). */
export function loadConfig(path: string): ReconcilerConfig {
  return parseConfig(readJsonFile(path, 'configuration file'), path);
}
