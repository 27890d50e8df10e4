/**
 * How the Lambda is bundled for its runtime, in one place. `npm run build` (`tsx tools/build.ts`),
 * the benchmarks (tools/bench) and the CDK construct (`NodejsFunction`, through `CDK_BUNDLING`) all
 * read these values, so the bundle that is measured is the bundle that is deployed.
 *
 * Importing this module has no side effects (esbuild is loaded only when a build runs).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { BuildOptions, Metafile } from 'esbuild';

/** The repository root (this file lives in `tools/`). */
export const ROOT = resolve(__dirname, '..');

/** The deployed handler's source. */
export const LAMBDA_ENTRY = 'functions/reconciler/handler.ts';

/** A Powertools-Logger-only empty handler: the floor every Lambda of this kind pays. */
export const BASELINE_ENTRY = 'tools/bench/baseline-handler.ts';

/** Where `npm run build` writes the Lambda: `dist/handler.mjs` (+ `.map`, + metafile). */
export const LAMBDA_OUTDIR = 'dist';

/** Lambda's Node runtime (`nodejs22.x`): the bundle's syntax target. Local tooling stays Node 20. */
export const LAMBDA_TARGET = 'node22';

/**
 * ES module output can still contain CommonJS packages that call `require()` (for example for Node
 * built-ins); esbuild's ESM shim then throws "Dynamic require of … is not supported" unless a real
 * `require` is in scope. Today no bundled package needs it (the ES module builds are picked), so
 * the options leave it out and `bundle()` fails loudly if that shim ever appears: then add
 * `banner: { js: CREATE_REQUIRE_BANNER }` (CDK: `banner: CREATE_REQUIRE_BANNER`).
 */
export const CREATE_REQUIRE_BANNER =
  "import { createRequire as __bannerCreateRequire } from 'node:module'; const require = __bannerCreateRequire(import.meta.url);";

/**
 * The esbuild options for both bundles. Plain values: the CDK construct maps them through
 * `CDK_BUNDLING`, the build and the benchmarks pass them to esbuild as they are.
 *
 * - `format: 'esm'`, `.mjs`: Lambda loads it as an ES module (no `"type"` needed next to it).
 * - `mainFields: ['module', 'main']`: the ES module builds of the SDK and Powertools tree-shake far
 *   better than their CommonJS builds (measured with esbuild: 383 KB vs 643 KB for the same clients).
 * - No `external`: the SDK is bundled at the lockfile's versions instead of the runtime's copy, so
 *   what is tested is what runs, and one file loads faster than the runtime's `node_modules`.
 * - `sourcemap: 'linked'`: an external `.map` file plus the `sourceMappingURL` comment that
 *   `NODE_OPTIONS=--enable-source-maps` needs to map stack traces (`'external'` omits the comment).
 * - `legalComments: 'linked'`: license comments go to `handler.mjs.LEGAL.txt`, not into the bundle.
 * - No banner: see `CREATE_REQUIRE_BANNER`.
 */
export const LAMBDA_BUNDLING = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: LAMBDA_TARGET,
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  mainFields: ['module', 'main'],
  outExtension: { '.js': '.mjs' },
  metafile: true,
  logLevel: 'warning',
} as const satisfies BuildOptions;

/**
 * The same options in the shape of `aws-cdk-lib/aws-lambda-nodejs` `BundlingOptions` (enum fields
 * as their string values: `OutputFormat.ESM === 'esm'`, `SourceMapMode.DEFAULT === 'default'`,
 * i.e. linked). Use in the construct as
 * `bundling: { ...CDK_BUNDLING, format: OutputFormat.ESM, sourceMapMode: SourceMapMode.DEFAULT }`.
 * `bundleAwsSDK: true` and `externalModules: []` matter: NodejsFunction otherwise leaves `@aws-sdk/*`
 * out of the bundle (the runtime's copy, whose version moves, would be loaded instead).
 */
export const CDK_BUNDLING = {
  format: 'esm',
  target: LAMBDA_TARGET,
  minify: true,
  sourceMap: true,
  sourceMapMode: 'default',
  mainFields: ['module', 'main'] as string[],
  metafile: true,
  bundleAwsSDK: true,
  externalModules: [] as string[],
  esbuildArgs: { '--legal-comments': 'linked' },
} as const;

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

/** Bundles `entry` (relative to the repository root) into `outdir/handler.mjs` with `LAMBDA_BUNDLING`. */
export async function bundle(entry: string, outdir: string): Promise<BundleResult> {
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
  });
  if (readFileSync(outfile, 'utf8').includes(DYNAMIC_REQUIRE_SHIM)) {
    throw new Error(
      `${entry}: a bundled CommonJS module calls require(), which fails in an ES module: add the createRequire banner (CREATE_REQUIRE_BANNER in tools/build.ts)`,
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

/** Builds the Lambda bundle, and the baseline when asked. */
export async function buildAll(options: { baseline?: boolean; outdir?: string } = {}): Promise<{
  lambda: BundleResult;
  baseline?: BundleResult;
}> {
  const outdir = options.outdir ?? LAMBDA_OUTDIR;
  const lambda = await bundle(LAMBDA_ENTRY, outdir);
  if (!options.baseline) return { lambda };
  const baseline = await bundle(BASELINE_ENTRY, join(outdir, 'bench', 'baseline'));
  return { lambda, baseline };
}

/**
 * `npm run build [-- --baseline] [--print-options]`: writes `dist/handler.mjs`, its map and its
 * metafile, and prints the size with the largest packages.
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
  const { lambda, baseline } = await buildAll({ baseline: argv.includes('--baseline') });
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const rel = (p: string) => p.slice(ROOT.length + 1);
  console.log(
    `esbuild: format=${LAMBDA_BUNDLING.format} platform=${LAMBDA_BUNDLING.platform} target=${LAMBDA_BUNDLING.target}` +
      ` minify sourcemap=${LAMBDA_BUNDLING.sourcemap} mainFields=${LAMBDA_BUNDLING.mainFields.join(',')} external=none`,
  );
  for (const [name, r] of [
    ['lambda', lambda],
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
