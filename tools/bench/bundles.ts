import { join, resolve } from 'node:path';
import { followDefine, LAMBDA_ALIASES, LAMBDA_BUNDLING } from '../../infra/bundling';
import { BASELINE_ENTRY, bundle, LAMBDA_ENTRY, ROOT } from '../build';

/** Where the bench writes its bundles (under the repository's ignored `dist/`). */
export const BENCH_OUTDIR = join('dist', 'bench');

/** A bundle the bench loads. */
export interface BenchBundle {
  name: string;
  /** Absolute path of the `.mjs`. */
  bundle: string;
  bytes: number;
}

/**
 * The reconciler's bundle as the construct deploys it for the default configuration (follow mode
 * off: `followDefine(false)`), the same with follow mode on (`followDefine(true)`: the DynamoDB
 * client and the adopter in the bundle), and the Logger-only baseline.
 */
export async function gateBundles(): Promise<{
  reconciler: BenchBundle;
  follow: BenchBundle;
  baseline: BenchBundle;
}> {
  const r = await bundle(LAMBDA_ENTRY, join(BENCH_OUTDIR, 'reconciler'), { define: followDefine(false) });
  const f = await bundle(LAMBDA_ENTRY, join(BENCH_OUTDIR, 'reconciler-follow'), {
    define: followDefine(true),
  });
  const b = await bundle(BASELINE_ENTRY, join(BENCH_OUTDIR, 'baseline'));
  return {
    reconciler: { name: 'reconciler', bundle: r.outfile, bytes: r.bytes },
    follow: { name: 'reconciler, follow mode on', bundle: f.outfile, bytes: f.bytes },
    baseline: { name: 'baseline (Logger only)', bundle: b.outfile, bytes: b.bytes },
  };
}

/**
 * One cold-start optimisation of the build taken out, for an A/B against the deployed bundle:
 * the same options with some `alias` entries removed, or another entry.
 */
export interface Variant {
  name: string;
  /** What the variant leaves out. */
  without: string;
  entry: string;
  /** Alias entries to drop from `LAMBDA_ALIASES`. */
  dropAliases?: (module: string) => boolean;
  /** The bundle it is compared with (the deployed one unless another variant is the fair A). */
  against: string;
}

export const VARIANTS: Variant[] = [
  {
    name: 'no-node-shims',
    without: 'functions/lib/node/* (ES imports of built-ins instead of process.getBuiltinModule)',
    entry: LAMBDA_ENTRY,
    dropAliases: (m) => m.startsWith('node:'),
    against: 'reconciler',
  },
  {
    // The default chain imports built-in names the shims do not export: compared without shims.
    name: 'no-env-credentials',
    without: 'aws/env-credentials.ts (the SDK default credential chain instead; both without the shims)',
    entry: LAMBDA_ENTRY,
    dropAliases: (m) => m === '@aws-sdk/credential-provider-node' || m.startsWith('node:'),
    against: 'no-node-shims',
  },
  {
    name: 'no-no-event-streams',
    without: 'aws/no-event-streams.ts (the SDK event-stream codec instead)',
    entry: LAMBDA_ENTRY,
    dropAliases: (m) => m === '@smithy/core/event-streams',
    against: 'reconciler',
  },
];

/** The metrics pair: Logger + our EMF writer against Logger + Powertools Metrics. */
export const METRICS_ENTRIES = {
  emf: 'tools/bench/ab/metrics-emf.ts',
  powertools: 'tools/bench/ab/metrics-powertools.ts',
} as const;

/** Builds a bundle with the deployed options (follow mode off, as by default), some aliases dropped. */
export async function buildVariant(
  name: string,
  entry: string,
  dropAliases: (module: string) => boolean = () => false,
): Promise<BenchBundle> {
  const { build } = await import('esbuild');
  const outfile = resolve(ROOT, BENCH_OUTDIR, name, 'handler.mjs');
  const alias = Object.fromEntries(Object.entries(LAMBDA_ALIASES).filter(([m]) => !dropAliases(m)));
  const result = await build({
    ...LAMBDA_BUNDLING,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    alias,
    define: followDefine(false),
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
  });
  const output = Object.entries(result.metafile.outputs).find(([p]) => resolve(ROOT, p) === outfile)?.[1];
  if (output === undefined) throw new Error(`esbuild wrote no ${outfile}`);
  return { name, bundle: outfile, bytes: output.bytes };
}
