/**
 * The deployment parameters: a JSON file (`-c params=infra/params.json`) holding the settings
 * document of settings.ts (the reconciler's configuration plus the deployment keys) and the
 * stack's name and tags, with a few keys overridable one by one from CDK context
 * (`-c registry.url=https://…`). A file of an earlier version still loads: a key that moved is read
 * under its new name, and a key that never had an effect is dropped, each with a warning. Every error is a `ParamsError`: one line per
 * problem, each naming the key and where its value came from (the file, or `-c <key>`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as v from 'valibot';
import { issueMessage, issuePath, unknownKeys } from '../functions/lib/config/validation';
import type { RegistryReconcilerProps } from './props';
import {
  FORMER_NAMES,
  PARAMS_ENTRIES,
  PARAMS_REMOVED,
  PARAMS_RENAMES,
  type ParamsInput,
  paramsSchema,
} from './settings';
import type { InvalidReconcilerPropsError } from './validation';

/** Keys that `-c key=value` may set or override (CDK context values from the command line are strings). */
export const CONTEXT_OVERRIDES = [
  'stackName',
  'cluster',
  'namespace',
  'registryService',
  'registry.url',
  'alarmEmail',
  'logLevel',
  'dryRun',
  // An earlier version's name, read as registry.url with a warning.
  'registryUrl',
] as const;

/** The default stack name. */
export const DEFAULT_STACK_NAME = v.getDefault(PARAMS_ENTRIES.stackName);

/** Bad parameters: one line per problem, each `<where>: <key>: <what is wrong>`. */
export class ParamsError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.join('\n'));
    this.name = 'ParamsError';
  }
}

/** Where the parameters came from: the file, the keys `-c` set, and the keys read under a new name. */
export interface ParamsOrigin {
  /** The parameters file, as it is best shown (relative to the working directory when inside it). */
  readonly file: string;
  /** The keys (dotted paths) whose value came from `-c key=value`. */
  readonly fromContext: ReadonlySet<string>;
  /** New name → the earlier name it was read from. */
  readonly formerNames: ReadonlyMap<string, string>;
}

/** The parameters as read, where they came from, and what the reader should change. */
export interface LoadedParams {
  readonly params: ParamsInput;
  readonly origin: ParamsOrigin;
  /** One line per earlier name read under its new one. */
  readonly warnings: readonly string[];
}

/** How a path is shown in messages: relative to the working directory when it is inside it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** The keys of `CONTEXT_OVERRIDES` that the context sets. */
export function contextKeys(context: (key: string) => unknown): Set<string> {
  return new Set(CONTEXT_OVERRIDES.filter((key) => context(key) !== undefined));
}

/**
 * Reads the parameters: the JSON file, then the context overrides, an earlier version's names read
 * under their new ones. Throws a `ParamsError` naming every bad key and where it came from.
 */
export function loadParams(file: string, context: (key: string) => unknown = () => undefined): LoadedParams {
  const shown = displayPath(file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file (copy infra/params.example.json there and edit it)'
        : cause instanceof SyntaxError
          ? `not valid JSON (${cause.message})`
          : (cause as Error).message;
    throw new ParamsError([`${shown}: cannot read the parameters file: ${why}`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ParamsError([`${shown}: the parameters file must hold a JSON object`]);
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  const formerNames = new Map<string, string>();
  const merged = structuredClone(raw) as Record<string, unknown>;
  for (const [former, now] of Object.entries(PARAMS_RENAMES)) {
    if (!(former in merged)) continue;
    if (getPath(merged, now) !== undefined) {
      problems.push(`${shown}: ${former}: renamed to ${now}, which the file also sets: keep ${now} only`);
    } else {
      setPath(merged, now, merged[former]);
      formerNames.set(now, former);
      warnings.push(`${shown}: ${former} is now ${now}: the file still loads; rename it there`);
    }
    delete merged[former];
  }
  for (const [former, why] of Object.entries(PARAMS_REMOVED)) {
    if (!(former in merged)) continue;
    warnings.push(`${shown}: ${former} is ignored: ${why}`);
    delete merged[former];
  }
  const fromContext = contextKeys(context);
  for (const key of fromContext) {
    const value = context(key);
    const target = PARAMS_RENAMES[key] ?? key;
    if (target !== key) {
      warnings.push(`-c ${key} is now -c ${target}: read as ${target}`);
      formerNames.set(target, `-c ${key}`);
    }
    if (key !== 'dryRun') setPath(merged, target, value);
    else if (value === true || value === 'true') merged[key] = true;
    else if (value === false || value === 'false') merged[key] = false;
    else problems.push(`-c dryRun: ${JSON.stringify(value)} is neither true nor false`);
  }
  const origin: ParamsOrigin = {
    file: shown,
    fromContext: new Set([...fromContext].map((k) => PARAMS_RENAMES[k] ?? k)),
    formerNames,
  };
  const result = v.safeParse(paramsSchema, merged);
  if (!result.success) problems.push(...describeIssues(result.issues, origin));
  if (problems.length > 0) throw new ParamsError(problems);
  return { params: merged as ParamsInput, origin, warnings };
}

/** The construct's props from the parameters: the file without the stack's own keys. */
export function toReconcilerProps(params: ParamsInput): RegistryReconcilerProps {
  const { $comment: _comment, stackName: _stackName, tags: _tags, ...props } = params;
  return props;
}

/** The schema's issues as problem lines; an unknown key is always the file's (`-c` takes known keys only). */
function describeIssues(issues: readonly v.BaseIssue<unknown>[], origin: ParamsOrigin): string[] {
  return issues.flatMap((issue) => {
    const key = issuePath(issue).join('.');
    const keys = unknownKeys(issue);
    if (keys === undefined) return [located(key === '' ? '(root)' : key, issueMessage(issue), origin)];
    return keys.map((unknown) => {
      const where = [key, unknown].filter((p) => p !== '').join('.');
      const now = FORMER_NAMES[where];
      if (now !== undefined) return `${origin.file}: ${where}: renamed: use ${now}`;
      return `${origin.file}: ${where}: unknown key${suggestion(unknown)}`;
    });
  });
}

/** ` (did you mean "x"?)` for a key that differs from a known one only in case or by a plural s. */
function suggestion(key: string): string {
  const norm = (k: string) => k.toLowerCase().replace(/s$/, '');
  const known = Object.keys(paramsSchema.entries).find((k) => k !== key && norm(k) === norm(key));
  return known === undefined ? '' : ` (did you mean "${known}"?)`;
}

/**
 * `<file>: <key>: <message>`, `-c <key>: <message>` for a value given on the command line, and
 * `<file>: <key> (read from <former>): <message>` for a value under an earlier name.
 */
function located(key: string, message: string | undefined, origin: ParamsOrigin): string {
  const set = [...origin.fromContext].find((k) => key === k || key.startsWith(`${k}.`));
  const former = [...origin.formerNames].find(([now]) => key === now || key.startsWith(`${now}.`))?.[1];
  if (former?.startsWith('-c ')) return `${former}: ${key}: ${message}`;
  if (set !== undefined) return key === set ? `-c ${set}: ${message}` : `-c ${set}: ${key}: ${message}`;
  return `${origin.file}: ${key}${former === undefined ? '' : ` (read from ${former})`}: ${message}`;
}

/** The construct's `InvalidReconcilerPropsError` in the parameters' terms: each problem where its value came from. */
export function paramsErrorFromProps(error: InvalidReconcilerPropsError, origin: ParamsOrigin): ParamsError {
  return new ParamsError(
    error.problems.map((problem) => {
      const match = /^([A-Za-z$][\w.]*): (.*)$/s.exec(problem);
      return match === null ? `${origin.file}: ${problem}` : located(match[1] ?? '', match[2], origin);
    }),
  );
}

function getPath(object: Record<string, unknown>, dotted: string): unknown {
  let at: unknown = object;
  for (const key of dotted.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Sets a dotted path, creating objects on the way (a non-object on the way is left to the schema to refuse). */
function setPath(object: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const last = keys.pop() as string;
  let at = object;
  for (const key of keys) {
    const next = at[key];
    if (next === undefined) at[key] = {};
    else if (next === null || typeof next !== 'object' || Array.isArray(next)) return;
    at = at[key] as Record<string, unknown>;
  }
  at[last] = value;
}
