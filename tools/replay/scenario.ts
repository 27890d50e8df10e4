import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Action } from '../../functions/lib/telemetry/record';

/**
 * The replay's input: scenario files (steps with expectations) and raw captured events (one
 * event, an array, JSON Lines or an SQS batch per file). Reading never throws: a file that cannot be read or
 * parsed becomes a `LoadError` naming the file, and the rest still replays.
 */

/**
 * What a step expects of the decision for one target: its last decision of the step. `url` is the
 * entry's address after the step. `none`: the deployed path makes no decision for the entry in
 * this step (a duplicate the work queue drops, an entry a registry re-check finds at a task IP);
 * its `url` is then read from the registry (`kind` says where, server by default).
 */
export interface DecisionExpectation {
  path: string;
  kind?: 'server' | 'agent';
  action: Action | 'none';
  reason?: string;
  url?: string;
}

export interface StepExpectation {
  decisions?: DecisionExpectation[];
  /** The event is ignored with this reason. */
  ignored?: string;
  /** The event is rejected as malformed with a reason containing this text. */
  malformed?: string;
}

export interface ScenarioStep {
  note?: string;
  /** One EventBridge event, as ECS delivers it. */
  event?: unknown;
  /** A file holding one event, relative to the scenario file. */
  eventFile?: string;
  /** Several events delivered in one invocation (one SQS batch). */
  batch?: unknown[];
  /** Sets an entry's address behind the reconciler's back (the registry's own reset on start). */
  registry?: { kind: 'server' | 'agent'; path: string; url: string };
  /** Virtual time to let pass before the step. */
  advanceMs?: number;
  expect?: StepExpectation;
  /**
   * What to expect instead when Cloud Map lags behind ECS (`--lag` on a scenario that sets no lag
   * of its own): a new task is not listed yet, so the decision can differ while the end state does not.
   */
  lagged?: StepExpectation;
  /** Set by the loader: the text of an `eventFile` that is not JSON (delivered as-is). */
  text?: string;
  /** Set by the loader: why an `eventFile` could not be read. */
  loadError?: string;
}

export interface ScenarioFile {
  scenario: string;
  description?: string;
  /**
   * Every event of this scenario may be ignored (it shows what the reconciler leaves alone): a
   * replay of it alone is not reported as one in which nothing happened.
   */
  allowIgnored?: boolean;
  /** Overrides of the world for this scenario. */
  world?: { registrationLagMs?: number };
  steps: ScenarioStep[];
}

/** A unit of replay: a scenario (fresh world) or the raw events of one file (in the shared world). */
export interface ReplayUnit {
  file: string;
  label: string;
  scenario?: ScenarioFile;
  /** Raw events, each with where it came from. */
  events?: RawEvent[];
}

export interface LoadError {
  file: string;
  message: string;
}

/** Files the replay reads from a folder: JSON (one event, an array, a scenario, an SQS batch) and JSON Lines. */
const INPUT_FILE = /\.(json|jsonl|ndjson)$/i;
const JSON_LINES = /\.(jsonl|ndjson)$/i;

/**
 * Expands files and folders (folders recursively: their `.json`, `.jsonl` and `.ndjson` files, in
 * path order) and loads each. A folder without such files, a missing path and a file holding no
 * event are errors: nothing a user gives is skipped silently.
 */
export function loadInputs(paths: string[]): { units: ReplayUnit[]; errors: LoadError[] } {
  const units: ReplayUnit[] = [];
  const errors: LoadError[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = statSync(path).isDirectory() ? inputFiles(path) : [path];
    } catch (error) {
      errors.push({ file: path, message: `cannot read: ${(error as Error).message}` });
      continue;
    }
    if (files.length === 0) {
      errors.push({
        file: path,
        message: 'no .json, .jsonl or .ndjson file in this folder (or its subfolders)',
      });
      continue;
    }
    for (const file of files) {
      const loaded = loadFile(file);
      if ('message' in loaded) errors.push(loaded);
      else units.push(loaded);
    }
  }
  return { units, errors };
}

function inputFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => {
      const path = join(dir, d.name);
      if (d.isDirectory()) return inputFiles(path);
      return d.isFile() && INPUT_FILE.test(d.name) ? [path] : [];
    });
}

type RawEvent = { origin: string; event: unknown; text?: string };

function loadFile(file: string): ReplayUnit | LoadError {
  const label = relative(callerDir(), resolve(file)) || file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    return { file: label, message: `cannot read: ${(error as Error).message}` };
  }
  // A file named explicitly that is not `.json` (a CloudWatch Logs export, `000000` from S3) is lines.
  if (JSON_LINES.test(file) || !/\.json$/i.test(file)) return rawUnit(label, jsonLines(text, label));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Lines saved as .json (an export) are lines.
    if (isLines(text)) return rawUnit(label, jsonLines(text, label));
    // A raw event file that is not JSON is still replayed: the reconciler must reject it itself.
    return rawUnit(label, [{ origin: label, event: undefined, text }]);
  }
  if (isScenario(value)) {
    const problem = checkScenario(value);
    if (problem !== undefined) return { file: label, message: problem };
    return {
      file: label,
      label: label.replace(/^.*\//, '').replace(/\.json$/, ''),
      scenario: resolveFiles(value, file),
    };
  }
  return rawUnit(label, eventsOf(value, label));
}

function rawUnit(label: string, events: RawEvent[]): ReplayUnit | LoadError {
  if (events.length === 0)
    return { file: label, message: 'no event in this file (an empty array or no lines)' };
  return { file: label, label, events };
}

/**
 * A CloudWatch Logs export line's timestamp before the JSON (`2026-03-02T09:00:00.000Z {…}`, as
 * an export to S3 writes each line, or epoch milliseconds), then whitespace.
 */
const LOG_TIMESTAMP =
  /^(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{10,13})\s+(?=[{[])/;

/**
 * One event per non-blank line, each JSON or a CloudWatch Logs export line (a timestamp,
 * whitespace, then the JSON); a line that is neither is kept as text for the reconciler to reject.
 */
function jsonLines(text: string, label: string): RawEvent[] {
  return text.split(/\r?\n/).flatMap((line, i) => {
    if (line.trim() === '') return [];
    const origin = `${label}:${i + 1}`;
    const json = line.trim().replace(LOG_TIMESTAMP, '');
    try {
      return eventsOf(JSON.parse(json), origin);
    } catch {
      return [{ origin, event: undefined, text: json }];
    }
  });
}

/** Whether every non-blank line of the text is JSON or an export line (a file of lines, not one document). */
function isLines(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return (
    lines.length > 0 &&
    lines.every((l) => {
      try {
        JSON.parse(l.trim().replace(LOG_TIMESTAMP, ''));
        return true;
      } catch {
        return false;
      }
    })
  );
}

/**
 * The events a JSON value holds: one event, an array of them, or an SQS batch as Lambda receives
 * it (`{"Records": [{"body": "<event JSON>"}]}`), each body delivered as the queue would.
 */
function eventsOf(value: unknown, origin: string): RawEvent[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => eventsOf(v, `${origin}[${i}]`));
  const logEvents = logEventsOf(value);
  if (logEvents !== undefined) {
    // Each message is the event's JSON as the log group stored it (maybe after an export timestamp).
    return logEvents.map((message, i) => {
      const where = `${origin} events[${i}]`;
      const text = message.trim().replace(LOG_TIMESTAMP, '');
      try {
        return { origin: where, event: JSON.parse(text) };
      } catch {
        return { origin: where, event: undefined, text };
      }
    });
  }
  const records = (value as { Records?: unknown } | null)?.Records;
  if (Array.isArray(records)) {
    return records.map((r, i) => {
      const body = (r as { body?: unknown } | null)?.body;
      const where = `${origin} Records[${i}]`;
      // A body that is already parsed (a hand-made batch) is taken as the event it holds.
      return typeof body === 'string'
        ? { origin: where, event: undefined, text: body }
        : { origin: where, event: body };
    });
  }
  return [{ origin, event: value }];
}

/**
 * The messages of `aws logs filter-log-events` or `get-log-events` output
 * (`{"events": [{"timestamp": …, "message": "<event JSON>"}, …]}`), or undefined for anything else.
 */
function logEventsOf(value: unknown): string[] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const events = (value as { events?: unknown }).events;
  if (!Array.isArray(events) || 'detail' in value) return undefined;
  const isLogEvent = (e: unknown): e is { message: string } =>
    typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';
  return events.every(isLogEvent) ? events.map((e) => e.message) : undefined;
}

/** Where the user called from: npm runs scripts from the package root and says where in `INIT_CWD`. */
function callerDir(): string {
  return process.env.INIT_CWD ?? process.cwd();
}

function isScenario(value: unknown): value is ScenarioFile {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'steps' in value;
}

function checkScenario(s: ScenarioFile): string | undefined {
  if (!Array.isArray(s.steps)) return 'steps: must be an array';
  for (const [i, step] of s.steps.entries()) {
    const sources = ['event', 'eventFile', 'batch', 'registry'].filter(
      (k) => typeof step === 'object' && step !== null && k in step,
    );
    if (sources.length !== 1) return `steps.${i}: needs exactly one of event, eventFile, batch, registry`;
  }
  return undefined;
}

/** Inlines `eventFile` steps, keeping unreadable or non-JSON files as text for the reconciler to reject. */
function resolveFiles(s: ScenarioFile, file: string): ScenarioFile {
  return {
    ...s,
    steps: s.steps.map((step) => {
      if (step.eventFile === undefined) return step;
      const path = join(dirname(file), step.eventFile);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        return { ...step, loadError: `cannot read ${step.eventFile}: ${(error as Error).message}` };
      }
      try {
        return { ...step, event: JSON.parse(text) };
      } catch {
        return { ...step, text };
      }
    }),
  };
}
