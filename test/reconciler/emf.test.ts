/**
 * The functions' EMF writer against the real thing: Powertools Metrics (a dev dependency here)
 * given the same calls must write the same documents, Timestamp aside.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EmfMetrics } from '../../functions/lib/telemetry/emf';
import type { MetricNameValue } from '../../functions/lib/telemetry/telemetry';

type Call = ['count' | 'ms', string, number];

/** What Powertools writes to stdout for these calls and flushes. */
function powertools(calls: (Call | 'flush')[]): unknown[] {
  const saved = { dev: process.env.POWERTOOLS_DEV, off: process.env.POWERTOOLS_METRICS_DISABLED };
  process.env.POWERTOOLS_DEV = 'false';
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const m = new Metrics({
      namespace: 'RegistryReconciler',
      serviceName: 'registry-reconciler',
      logger: quiet,
    });
    for (const c of calls) {
      if (c === 'flush') m.publishStoredMetrics();
      else m.addMetric(c[1], c[0] === 'count' ? MetricUnit.Count : MetricUnit.Milliseconds, c[2]);
    }
  } finally {
    spy.mockRestore();
    process.env.POWERTOOLS_DEV = saved.dev;
    if (saved.off !== undefined) process.env.POWERTOOLS_METRICS_DISABLED = saved.off;
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map(withoutTimestamp);
}

function ours(calls: (Call | 'flush')[], now = () => 1_700_000_000_000): { docs: unknown[]; raw: string[] } {
  const raw: string[] = [];
  const m = new EmfMetrics({
    namespace: 'RegistryReconciler',
    serviceName: 'registry-reconciler',
    write: (line) => raw.push(line),
    now,
    disabled: false,
  });
  for (const c of calls) {
    if (c === 'flush') m.flush();
    else if (c[0] === 'count') m.count(c[1] as MetricNameValue, c[2]);
    else m.milliseconds(c[1] as MetricNameValue, c[2]);
  }
  return { docs: raw.map(withoutTimestamp), raw };
}

function withoutTimestamp(line: string): unknown {
  const doc = JSON.parse(line) as { _aws: { Timestamp?: number } };
  expect(typeof doc._aws.Timestamp).toBe('number');
  delete doc._aws.Timestamp;
  return doc;
}

describe('EmfMetrics writes what Powertools Metrics writes', () => {
  test.each<[string, (Call | 'flush')[]]>([
    [
      'counts, repeats and a duration in one invocation',
      [
        ['count', 'DecisionUpdate', 1],
        ['count', 'DecisionUpdate', 1],
        ['ms', 'ReconcileDuration', 12.5],
        'flush',
      ],
    ],
    ['a flush with nothing stored writes nothing', ['flush', ['count', 'DecisionNoop', 2], 'flush', 'flush']],
    [
      '100 values of one metric write a document early',
      [...Array.from({ length: 101 }, (): Call => ['count', 'DecisionNoop', 1]), 'flush'],
    ],
    [
      'a 101st metric name writes the first 100 first',
      [...Array.from({ length: 101 }, (_, i): Call => ['count', `Metric${i}`, i]), 'flush'],
    ],
  ])('%s', (_name, calls) => {
    const expected = powertools(calls);
    expect(expected.length).toBeGreaterThan(0);
    expect(ours(calls).docs).toEqual(expected);
  });

  test('the timestamp is the clock at the flush; one JSON line per document', () => {
    const { raw } = ours([['count', 'DecisionUpdate', 1], 'flush'], () => 1_234);
    expect(raw).toHaveLength(1);
    expect(raw[0]).not.toContain('\n');
    expect((JSON.parse(raw[0] as string) as { _aws: { Timestamp: number } })._aws.Timestamp).toBe(1_234);
  });

  test('a non-finite value or a second unit for one name is refused, naming the metric', () => {
    const m = new EmfMetrics({ namespace: 'N', serviceName: 's', write: () => undefined, disabled: false });
    expect(() => m.count('DecisionUpdate', Number.NaN)).toThrow(/DecisionUpdate: NaN is not a finite number/);
    m.count('DecisionUpdate');
    expect(() => m.milliseconds('DecisionUpdate', 1)).toThrow(/counted in Count, not Milliseconds/);
  });

  test('disabled as Powertools is: POWERTOOLS_METRICS_DISABLED first, else POWERTOOLS_DEV', () => {
    const written = (env: Record<string, string | undefined>) => {
      const saved = { ...process.env };
      Object.assign(process.env, env);
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
      try {
        const lines: string[] = [];
        const m = new EmfMetrics({ namespace: 'N', serviceName: 's', write: (l) => lines.push(l) });
        m.count('DecisionUpdate');
        m.flush();
        return lines.length;
      } finally {
        process.env = saved;
      }
    };
    expect(written({ POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: undefined })).toBe(0);
    expect(written({ POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'false' })).toBe(1);
    expect(written({ POWERTOOLS_DEV: 'false', POWERTOOLS_METRICS_DISABLED: 'yes' })).toBe(0);
    expect(written({ POWERTOOLS_DEV: undefined, POWERTOOLS_METRICS_DISABLED: undefined })).toBe(1);
  });
});
