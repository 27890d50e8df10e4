import type { ApiName } from '../../functions/reconciler/ports';

/**
 * The chaos simulation (tools/sim) has its own deployment storm, reported beside the benchmark's.
 * It is loaded at run time and every field read from it is checked, so a change in its shape
 * shows up as a stated omission in the report rather than a crash of the benchmarks.
 */
export interface SimStorm {
  scenario: string;
  ecsEvents: number;
  records: number;
  calls: Partial<Record<ApiName, number>>;
  maxPerRecord: Partial<Record<ApiName, number>>;
  recordsOverOne: Partial<Record<ApiName, number>>;
  writes: number;
  movesNeeded: number;
  sameValueWrites: number;
  staleP50Ms: number;
  staleMaxMs: number;
}

export type SimStormOutcome = { ok: true; storm: SimStorm } | { ok: false; reason: string };

const SIM_MODULE = '../sim/run';

export async function runSimStorm(seed: number, scenario = 'deployment-storm'): Promise<SimStormOutcome> {
  let runScenario: unknown;
  try {
    ({ runScenario } = (await import(SIM_MODULE)) as { runScenario?: unknown });
  } catch (error) {
    return { ok: false, reason: `tools/sim/run.ts not loadable: ${(error as Error).message.split('\n')[0]}` };
  }
  if (typeof runScenario !== 'function')
    return { ok: false, reason: 'tools/sim/run.ts exports no runScenario' };
  let result: Record<string, unknown>;
  try {
    result = (await runScenario(scenario, { seed, keepRecords: true })) as Record<string, unknown>;
  } catch (error) {
    return {
      ok: false,
      reason: `runScenario('${scenario}') failed: ${(error as Error).message.split('\n')[0]}`,
    };
  }
  const get = (path: string): unknown =>
    path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], result);
  const num = (path: string): number => {
    const v = get(path);
    if (typeof v !== 'number') throw new Error(`sim result has no number at ${path}`);
    return v;
  };
  try {
    const records = get('records');
    if (!Array.isArray(records)) throw new Error('sim result has no records (keepRecords)');
    const calls: Partial<Record<ApiName, number>> = {};
    const maxPerRecord: Partial<Record<ApiName, number>> = {};
    const recordsOverOne: Partial<Record<ApiName, number>> = {};
    for (const r of records as { calls?: Partial<Record<ApiName, number>> }[]) {
      for (const [api, n] of Object.entries(r.calls ?? {}) as [ApiName, number][]) {
        calls[api] = (calls[api] ?? 0) + n;
        maxPerRecord[api] = Math.max(maxPerRecord[api] ?? 0, n);
        if (n > 1) recordsOverOne[api] = (recordsOverOne[api] ?? 0) + 1;
      }
    }
    return {
      ok: true,
      storm: {
        scenario,
        ecsEvents: num('world.ecsEvents'),
        records: records.length,
        calls,
        maxPerRecord,
        recordsOverOne,
        writes: num('writes.landed'),
        movesNeeded: num('writes.movesNeeded'),
        sameValueWrites: num('violations.sameValueWrites'),
        staleP50Ms: num('stale.p50Ms'),
        staleMaxMs: num('stale.maxMs'),
      },
    };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
