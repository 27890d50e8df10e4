import type { MetricNameValue, MetricsSink } from './telemetry';

/**
 * The functions' metrics as CloudWatch embedded metric format (EMF) documents on stdout, one JSON
 * line per invocation, which Lambda's log capture turns into CloudWatch metrics. The document is
 * the one Powertools Metrics writes for the same calls (test/reconciler/emf.test.ts compares
 * them): namespace, the `service` dimension, each metric's unit, and each metric's values as a
 * list when it was counted more than once. Like Powertools, a document holds at most 100 metrics
 * and 100 values of one metric (CloudWatch's limits); reaching either writes it out early.
 *
 * Why not Powertools Metrics itself: these two functions count and time a fixed set of names
 * (telemetry.ts), and the library's validation, dimensions API and cold-start metric were 12 KB
 * of the bundle and part of every cold start.
 */
export const MAX_METRICS_PER_DOCUMENT = 100;
export const MAX_VALUES_PER_METRIC = 100;

type Unit = 'Count' | 'Milliseconds';

export interface EmfOptions {
  namespace: string;
  serviceName: string;
  /** Where each document goes (one line); stdout by default. */
  write?: (line: string) => void;
  now?: () => number;
  /**
   * Nothing is written. By default, as Powertools decides it: `POWERTOOLS_METRICS_DISABLED`
   * when set, else `POWERTOOLS_DEV` (local runs).
   */
  disabled?: boolean;
}

export class EmfMetrics implements MetricsSink {
  private readonly stored = new Map<string, { unit: Unit; values: number[] }>();
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly disabled: boolean;

  constructor(private readonly options: EmfOptions) {
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.now = options.now ?? Date.now;
    this.disabled = options.disabled ?? disabledByEnv(process.env);
  }

  count(name: MetricNameValue, value = 1): void {
    this.add(name, 'Count', value);
  }

  milliseconds(name: MetricNameValue, value: number): void {
    this.add(name, 'Milliseconds', value);
  }

  /** Writes what was stored since the last flush, if anything, and forgets it. */
  flush(): void {
    if (this.stored.size === 0) return;
    const metrics = [...this.stored];
    this.stored.clear();
    if (this.disabled) return;
    const document: Record<string, unknown> = {
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.options.namespace,
            Dimensions: [['service']],
            Metrics: metrics.map(([name, m]) => ({ Name: name, Unit: m.unit })),
          },
        ],
      },
      service: this.options.serviceName,
    };
    for (const [name, m] of metrics) document[name] = m.values.length === 1 ? m.values[0] : m.values;
    this.write(JSON.stringify(document));
  }

  private add(name: string, unit: Unit, value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`metric ${name}: ${value} is not a finite number`);
    const known = this.stored.get(name);
    if (known !== undefined && known.unit !== unit)
      throw new TypeError(`metric ${name} is counted in ${known.unit}, not ${unit}`);
    if (known === undefined && this.stored.size >= MAX_METRICS_PER_DOCUMENT) this.flush();
    const entry = this.stored.get(name) ?? { unit, values: [] };
    entry.values.push(value);
    this.stored.set(name, entry);
    if (entry.values.length >= MAX_VALUES_PER_METRIC) this.flush();
  }
}

const TRUE = new Set(['1', 'y', 'yes', 't', 'true', 'on']);

function disabledByEnv(env: NodeJS.ProcessEnv): boolean {
  const flag = env.POWERTOOLS_METRICS_DISABLED ?? env.POWERTOOLS_DEV;
  return flag !== undefined && TRUE.has(flag.trim().toLowerCase());
}
