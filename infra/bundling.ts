/**
 * How the Lambda is bundled for its runtime, in one place: `npm run build` (tools/build.ts), the
 * benchmarks and the CDK construct (`NodejsFunction`, through `CDK_BUNDLING`) all read these values,
 * so the bundle that is measured is the bundle that is deployed.
 *
 * Plain values with no runtime import (esbuild's types only), so both the tools and the CDK app can
 * load this module without pulling in the other's dependencies.
 */
import type { BuildOptions } from 'esbuild';

/**
 * The Node major of Lambda's runtime (`nodejs24.x`, set in infra/house-lambda.ts): the benchmarks
 * measure on it. Local tooling stays Node 20.
 */
export const LAMBDA_NODE_MAJOR = 24;

/** The bundle's syntax target: the Lambda runtime's Node. */
export const LAMBDA_TARGET = `node${LAMBDA_NODE_MAJOR}` as const;

/**
 * Node built-ins that the bundled code (ours, the SDK's, Powertools') imports, each replaced in the
 * Lambda build by functions/lib/node/<name>.ts, which exports the CommonJS module
 * (`process.getBuiltinModule`) and the names the bundle imports from it. An ES module `import` of
 * a built-in makes Node build the built-in's ES facade at load time, reading every export: for
 * `http` on Node 24 that loads undici through its `WebSocket` getter (26 ms here), for the others
 * a fraction of a millisecond to 2 ms each (`process`, `fs`, `crypto`). Same module objects either
 * way. A bundled module that imports a name a shim does not export fails the build ("No matching
 * export"): add the name there; a built-in that is not listed here fails test/infra/bundling.test.ts.
 */
export const NODE_SHIMS = [
  'async_hooks',
  'console',
  'crypto',
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'path',
  'process',
  'stream',
  'util',
] as const;

/**
 * Modules the Lambda build replaces, as esbuild `alias` entries (paths relative to the repository
 * root, which is esbuild's working directory in tools/build.ts and in CDK's local bundling).
 *
 * `@aws-sdk/credential-provider-node` (the SDK's default credential chain, which every client's
 * runtime configuration imports) becomes functions/lib/aws/env-credentials.ts: the function
 * reads its role's credentials from the environment, where the Lambda runtime always puts them, so
 * the chain's STS/SSO/SSO-OIDC/Signin clients (`@aws-sdk/nested-clients`), the INI, process and
 * metadata providers are not in the bundle. Only the bundle is affected: the local tools (`replay
 * --live`, `discover`, `plan`) run the sources unbundled and keep the full chain (profiles, SSO).
 *
 * `@smithy/core/event-streams` (the event-stream codec, about 15 KB minified, which the SDK's
 * protocol layer imports lazily for operations that stream events) becomes
 * functions/lib/aws/no-event-streams.ts, which throws: no operation the functions call has
 * an event stream.
 */
export const LAMBDA_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './functions/lib/aws/env-credentials.ts',
  '@smithy/core/event-streams': './functions/lib/aws/no-event-streams.ts',
  ...Object.fromEntries(
    NODE_SHIMS.map((name) => [`node:${name}`, `./functions/lib/node/${name.replace('/', '-')}.ts`]),
  ),
};

/**
 * The expression `functions/lib/aws/follow-bundled.ts` tests to know whether the bundle
 * carries follow mode, which the build replaces (esbuild `define`).
 */
export const FOLLOW_BUNDLED_EXPRESSION = 'process.env.RECONCILER_FOLLOW_BUNDLED';

/**
 * The esbuild `define` that bundles a function for its configuration's follow mode. The construct
 * sets it on both functions from `follow.enabled`: with follow off, esbuild drops the branch that
 * builds follow mode, and with it the DynamoDB client and the adopter (about 53 KB of the
 * reconciler's bundle, measured by `npm run bench`, which loads both builds). `npm run build` sets
 * it too (follow off unless `--follow`); bundles built without it (the integration tier) carry
 * follow mode, as the sources do.
 */
export function followDefine(followEnabled: boolean): Record<string, string> {
  return { [FOLLOW_BUNDLED_EXPRESSION]: JSON.stringify(String(followEnabled)) };
}

/**
 * ES module output can still contain CommonJS packages that call `require()` (for example for Node
 * built-ins); esbuild's ESM shim then throws "Dynamic require of … is not supported" unless a real
 * `require` is in scope. Today no bundled package needs it (the ES module builds are picked), so
 * the options leave it out and tools/build.ts's `bundle()` fails loudly if that shim ever appears:
 * then add `banner: { js: CREATE_REQUIRE_BANNER }` (CDK: `banner: CREATE_REQUIRE_BANNER`).
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
 * - `alias`: see `LAMBDA_ALIASES` (environment credentials only).
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
  alias: LAMBDA_ALIASES,
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
  esbuildArgs: {
    '--legal-comments': 'linked',
    // CDK renders an array under `--alias` as one `--alias:<module>=<path>` flag per entry.
    '--alias': Object.entries(LAMBDA_ALIASES).map(([module, path]) => `${module}=${path}`),
  },
} as const;
