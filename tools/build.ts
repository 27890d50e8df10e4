/**
 * Builds the Lambda bundle: `npm run build` (`tsx tools/build.ts`) and the benchmarks (tools/bench).
 * The esbuild options come from infra/bundling.ts, which the CDK construct (`NodejsFunction`) reads
 * as well, so the bundle that is measured is the bundle that is deployed.
 *
 * Importing this module has no side effects (esbuild is loaded only when a build runs).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { CDK_BUNDLING, followDefine, LAMBDA_BUNDLING } from '../infra/bundling';

// The options live in infra/bundling.ts, which the CDK construct reads too; re-exported for the tools.
export { CDK_BUNDLING, CREATE_REQUIRE_BANNER, LAMBDA_BUNDLING, LAMBDA_TARGET } from '../infra/bundling';

/** The repository root (this file lives in `tools/`). */
export const ROOT = resolve(__dirname, '..');

/** The deployed handler's source. */
export const LAMBDA_ENTRY = 'functions/reconciler/handler.ts';

/** The fan-out's handler source; its bundle goes to `dist/fanout/handler.mjs`. */
export const FANOUT_ENTRY = 'functions/fanout/handler.ts';

/** The optional webhook receiver's handler source (`webhook.enabled`); its bundle goes to `dist/webhook/handler.mjs`. */
export const WEBHOOK_ENTRY = 'functions/webhook/handler.ts';

/** A Powertools-Logger-only empty handler: the floor every Lambda of this kind pays. */
export const BASELINE_ENTRY = 'tools/bench/baseline-handler.ts';

/** Where `npm run build` writes the Lambda: `dist/handler.mjs` (+ `.map`, + metafile). */
export const LAMBDA_OUTDIR = 'dist';

/** The text of esbuild's ESM `require` shim, present only when a CommonJS module needs `require`. */
const DYNAMIC_REQUIRE_SHIM = 'Dynamic require of';

/** What one bundle came to. */
export interface BundleResult {
  /** Absolute path of the `.mjs` bundle. */
  outfile: string;
  /** Bytes of the minified bundle (what Lambda loads; the source map and metafile not included). */
  bytes: number;
  /** Absolute path of the esbuild metafile written next to the bundle. */
  metafilePath: string;
  metafile: Metafile;
  /** Bytes in the bundle by npm package (or by source folder for our own code), largest first. */
  byPackage: { name: string; bytes: number }[];
}

/**
 * Bundles `entry` (relative to the repository root) into `outdir/handler.mjs` with `LAMBDA_BUNDLING`,
 * plus `define` when given: `followDefine(enabled)` (infra/bundling.ts) builds the bundle the
 * construct deploys for that configuration; without it follow mode is in, as in the sources.
 */
export async function bundle(
  entry: string,
  outdir: string,
  options: { define?: Record<string, string> } = {},
): Promise<BundleResult> {
  const { build } = await import('esbuild');
  const absOut = resolve(ROOT, outdir);
  mkdirSync(absOut, { recursive: true });
  const outfile = join(absOut, 'handler.mjs');
  const result = await build({
    ...LAMBDA_BUNDLING,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    ...(options.define === undefined ? {} : { define: options.define }),
  });
  if (readFileSync(outfile, 'utf8').includes(DYNAMIC_REQUIRE_SHIM)) {
    throw new Error(
      `${entry}: a bundled CommonJS module calls require(), which fails in an ES module: add the createRequire banner (CREATE_REQUIRE_BANNER in infra/bundling.ts)`,
    );
  }
  const metafile = result.metafile;
  const metafilePath = join(absOut, 'handler.meta.json');
  writeFileSync(metafilePath, JSON.stringify(metafile));
  const output = Object.entries(metafile.outputs).find(([p]) => resolve(ROOT, p) === outfile)?.[1];
  if (output === undefined) throw new Error(`esbuild wrote no ${outfile}`);
  return { outfile, bytes: output.bytes, metafilePath, metafile, byPackage: bytesByPackage(output) };
}

/** Sums an output's bytes by npm package, or by source folder for files outside node_modules. */
export function bytesByPackage(output: Metafile['outputs'][string]): { name: string; bytes: number }[] {
  const sums = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    const name = pkg ?? dirname(path);
    sums.set(name, (sums.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...sums].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/**
 * Builds the reconciler's bundle, the fan-out's when asked, and the baseline when asked; the two
 * functions with `define` when given (`followDefine`, as the construct bundles them).
 */
export async function buildAll(
  options: {
    baseline?: boolean;
    fanout?: boolean;
    webhook?: boolean;
    outdir?: string;
    define?: Record<string, string>;
  } = {},
): Promise<{
  lambda: BundleResult;
  fanout?: BundleResult;
  webhook?: BundleResult;
  baseline?: BundleResult;
}> {
  const outdir = options.outdir ?? LAMBDA_OUTDIR;
  const define = options.define === undefined ? {} : { define: options.define };
  const lambda = await bundle(LAMBDA_ENTRY, outdir, define);
  const fanout = options.fanout ? await bundle(FANOUT_ENTRY, join(outdir, 'fanout'), define) : undefined;
  // The receiver has no follow mode to define: it is bundled as the construct bundles it.
  const webhook = options.webhook ? await bundle(WEBHOOK_ENTRY, join(outdir, 'webhook')) : undefined;
  const baseline = options.baseline
    ? await bundle(BASELINE_ENTRY, join(outdir, 'bench', 'baseline'))
    : undefined;
  return {
    lambda,
    ...(fanout === undefined ? {} : { fanout }),
    ...(webhook === undefined ? {} : { webhook }),
    ...(baseline === undefined ? {} : { baseline }),
  };
}

/**
 * `npm run build [-- --follow] [--baseline] [--print-options]`: writes the reconciler's
 * `dist/handler.mjs`, the fan-out's `dist/fanout/handler.mjs` and the webhook receiver's
 * `dist/webhook/handler.mjs`, each with its map and metafile,
 * as the construct bundles them for a configuration with follow mode off (`--follow`: on), and
 * prints their sizes with the largest packages.
 */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--print-options')) {
    console.log(JSON.stringify({ esbuild: LAMBDA_BUNDLING, cdk: CDK_BUNDLING }, null, 2));
    return 0;
  }
  if (!existsSync(resolve(ROOT, LAMBDA_ENTRY))) {
    console.error(`no ${LAMBDA_ENTRY}`);
    return 1;
  }
  const follow = argv.includes('--follow');
  const { lambda, fanout, webhook, baseline } = await buildAll({
    baseline: argv.includes('--baseline'),
    fanout: true,
    webhook: true,
    define: followDefine(follow),
  });
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const rel = (p: string) => p.slice(ROOT.length + 1);
  console.log(
    `esbuild: format=${LAMBDA_BUNDLING.format} platform=${LAMBDA_BUNDLING.platform} target=${LAMBDA_BUNDLING.target}` +
      ` minify sourcemap=${LAMBDA_BUNDLING.sourcemap} mainFields=${LAMBDA_BUNDLING.mainFields.join(',')} external=none` +
      ` follow=${follow ? 'on' : 'off'}`,
  );
  for (const [name, r] of [
    ['lambda', lambda],
    ['fanout', fanout],
    ['webhook', webhook],
    ['baseline', baseline],
  ] as const) {
    if (r === undefined) continue;
    console.log(
      `${name}: ${rel(r.outfile)} ${r.bytes} bytes (${kb(r.bytes)}); metafile ${rel(r.metafilePath)}`,
    );
    for (const p of r.byPackage.slice(0, 8)) console.log(`  ${kb(p.bytes).padStart(10)}  ${p.name}`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
