import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Action } from '../../functions/reconciler/record';

/**
 * The replay's input: scenario files (steps with expectations) and raw captured events (one
 * event per file, or an array of them). Reading never throws: a file that cannot be read or
 * parsed becomes a `LoadError` naming the file, and the rest still replays.
 */

/** What a step expects of the decision for one target. `url` is the entry's address after the step. */
export interface DecisionExpectation {
  path: string;
  action: Action;
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
  /** Set by the loader: the text of an `eventFile` that is not JSON (delivered as-is). */
  text?: string;
  /** Set by the loader: why an `eventFile` could not be read. */
  loadError?: string;
}

export interface ScenarioFile {
  scenario: string;
  description?: string;
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
  events?: { origin: string; event: unknown; text?: string }[];
}

export interface LoadError {
  file: string;
  message: string;
}

/** Expands files and folders (folders: their `.json` files, sorted) and loads each. */
export function loadInputs(paths: string[]): { units: ReplayUnit[]; errors: LoadError[] } {
  const units: ReplayUnit[] = [];
  const errors: LoadError[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = statSync(path).isDirectory()
        ? readdirSync(path)
            .filter((f) => f.endsWith('.json'))
            .sort()
            .map((f) => join(path, f))
        : [path];
    } catch (error) {
      errors.push({ file: path, message: `cannot read: ${(error as Error).message}` });
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

function loadFile(file: string): ReplayUnit | LoadError {
  const label = relative(process.cwd(), resolve(file));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { file: label, message: `cannot read: ${(error as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // A raw event file that is not JSON is still replayed: the reconciler must reject it itself.
    return { file: label, label, events: [{ origin: label, event: undefined, text }] };
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
  const events = Array.isArray(value) ? value : [value];
  return {
    file: label,
    label,
    events: events.map((event, i) => ({ origin: Array.isArray(value) ? `${label}[${i}]` : label, event })),
  };
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
