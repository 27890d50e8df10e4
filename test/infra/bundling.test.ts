/**
 * infra/bundling.ts: the Lambda bundle carries no SDK credential chain and no package twice, and
 * the deployed clients sign with the environment's credentials while the unbundled sources (the
 * local tools) keep the SDK's full default chain.
 */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Stack } from 'aws-cdk-lib';
import { createAwsAdapters } from '../../functions/lib/aws/clients';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import {
  CDK_BUNDLING,
  FOLLOW_BUNDLED_EXPRESSION,
  followDefine,
  LAMBDA_ALIASES,
  LAMBDA_BUNDLING,
} from '../../infra/bundling';
import { RegistryReconciler } from '../../infra/registry-reconciler';
import { coldLoadEnv, FOLLOW_CONFIG } from '../../tools/bench/coldload';
import { type BundleResult, bundle, FANOUT_ENTRY, LAMBDA_ENTRY } from '../../tools/build';
import { minimalProps, newApp } from './helpers';

const run = promisify(execFile);

/** Modules of the SDK's default credential chain, which a Lambda never needs. */
const CHAIN_MODULES =
  /node_modules\/@aws-sdk\/(nested-clients|credential-provider-(node|ini|sso|process|web-identity|http|imds|login)|token-providers)\//;

/** A string only the DynamoDB client carries: its JSON protocol's target prefix. */
const DYNAMODB_MARK = 'DynamoDB_20120810';
/** Part of the refusal of a bundle built without follow mode (functions/lib/aws/follow-bundled.ts). */
const NO_FOLLOW_MESSAGE = 'bundled without follow mode';

/** Which `node_modules/<package>` directories each bundled package came from. */
function packageCopies(result: BundleResult): Map<string, Set<string>> {
  const copies = new Map<string, Set<string>>();
  for (const path of Object.keys(result.metafile.inputs)) {
    const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(path);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    const dirs = copies.get(match[2]) ?? new Set<string>();
    dirs.add(match[1]);
    copies.set(match[2], dirs);
  }
  return copies;
}

describe('the Lambda bundle (infra/bundling.ts)', () => {
  let dir: string;
  let lambda: BundleResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reconciler-bundle-'));
    lambda = await bundle(LAMBDA_ENTRY, join(dir, 'lambda'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds no module of the SDK credential chain, and the environment provider instead', () => {
    const inputs = Object.keys(lambda.metafile.inputs);
    expect(inputs.filter((p) => CHAIN_MODULES.test(p))).toEqual([]);
    expect(inputs.filter((p) => /\bsso\b|sso-oidc/i.test(p))).toEqual([]);
    expect(inputs).toContain('functions/lib/aws/env-credentials.ts');
    // The SDK clients are really in it (the check above is not vacuous).
    expect(inputs.some((p) => p.includes('node_modules/@aws-sdk/client-ecs/'))).toBe(true);
  });

  it('imports no Node built-in as an ES module: each comes through its CommonJS shim (NODE_SHIMS)', () => {
    const code = readFileSync(lambda.outfile, 'utf8');
    expect(code.match(/from\s*"node:[^"]+"|import\(\s*"node:[^"]+"\)/g) ?? []).toEqual([]);
    const output = Object.values(lambda.metafile.outputs).find((o) => o.entryPoint !== undefined);
    expect(output?.imports.filter((i) => i.external).map((i) => i.path)).toEqual([]);
  });

  it('holds every package once (one copy of Powertools commons)', () => {
    const twice = [...packageCopies(lambda)].filter(([, dirs]) => dirs.size > 1);
    expect(twice).toEqual([]);
    expect(packageCopies(lambda).get('@aws-lambda-powertools/commons')?.size).toBe(1);
  });

  it('the construct, bundling with CDK, ships the environment provider and not the chain in both functions', () => {
    const outdir = join(dir, 'cdk.out');
    const app = newApp({ bundle: true, outdir });
    new RegistryReconciler(new Stack(app, 'BundleStack'), 'Reconciler', minimalProps());
    app.synth();
    const assets = readdirSync(outdir).filter((f) => f.startsWith('asset.'));
    // The reconciler and the fan-out.
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const code = readFileSync(join(outdir, asset, 'index.mjs'), 'utf8');
      expect(code).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
      expect(code).not.toContain('defaultProvider::fromSSO');
      expect(code).not.toContain('sso-oidc');
      expect(code.match(/from\s*"node:[^"]+"|import\(\s*"node:[^"]+"\)/g) ?? []).toEqual([]);
      // Follow mode is off in this configuration: no DynamoDB client (its JSON protocol's target prefix).
      expect(code).not.toContain(DYNAMODB_MARK);
      expect(code).toContain(NO_FOLLOW_MESSAGE);
    }
  });

  it('the construct bundles follow mode, and the DynamoDB client, into both functions when the configuration enables it', () => {
    const outdir = join(dir, 'cdk-follow.out');
    const app = newApp({ bundle: true, outdir });
    new RegistryReconciler(
      new Stack(app, 'FollowStack'),
      'Reconciler',
      minimalProps({ follow: { enabled: true } }),
    );
    app.synth();
    const assets = readdirSync(outdir).filter((f) => f.startsWith('asset.'));
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const code = readFileSync(join(outdir, asset, 'index.mjs'), 'utf8');
      expect(code).toContain(DYNAMODB_MARK);
      expect(code).not.toContain(NO_FOLLOW_MESSAGE);
    }
  });

  it('gives the CDK construct the same substitution as npm run build and the benchmarks', () => {
    expect(LAMBDA_BUNDLING.alias).toBe(LAMBDA_ALIASES);
    expect(CDK_BUNDLING.esbuildArgs['--alias']).toEqual(
      Object.entries(LAMBDA_ALIASES).map(([m, p]) => `${m}=${p}`),
    );
  });
});

describe('follow mode in the bundle (followDefine)', () => {
  let dir: string;
  const built: Record<string, BundleResult> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reconciler-follow-bundle-'));
    for (const [name, entry] of [
      ['reconciler', LAMBDA_ENTRY],
      ['fanout', FANOUT_ENTRY],
    ] as const) {
      built[`${name}-off`] = await bundle(entry, join(dir, `${name}-off`), { define: followDefine(false) });
      built[`${name}-on`] = await bundle(entry, join(dir, `${name}-on`), { define: followDefine(true) });
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The source files that put code into the bundle (esbuild lists tree-shaken ones with 0 bytes). */
  const inputs = (r: BundleResult | undefined) =>
    Object.entries(Object.values(r?.metafile.outputs ?? {}).find((o) => o.entryPoint)?.inputs ?? {})
      .filter(([, i]) => i.bytesInOutput > 0)
      .map(([p]) => p);
  const dynamodb = (r: BundleResult | undefined) =>
    inputs(r).filter((p) => p.includes('node_modules/@aws-sdk/client-dynamodb/'));

  it('names the expression the function tests', () => {
    expect(followDefine(false)).toEqual({ [FOLLOW_BUNDLED_EXPRESSION]: '"false"' });
    expect(readFileSync(join(__dirname, '../../functions/lib/aws/follow-bundled.ts'), 'utf8')).toContain(
      `${FOLLOW_BUNDLED_EXPRESSION} === 'false'`,
    );
  });

  it.each(['reconciler', 'fanout'])(
    'leaves the DynamoDB client and the adopter out of the %s with follow mode off',
    (name) => {
      const off = built[`${name}-off`];
      const on = built[`${name}-on`];
      expect(dynamodb(off)).toEqual([]);
      expect(inputs(off)).not.toContain('functions/lib/aws/ownership-table.ts');
      expect(inputs(off)).not.toContain('functions/lib/aws/follow.ts');
      // With it on they are in (the check above is not vacuous), and they are what the difference is.
      expect(dynamodb(on).length).toBeGreaterThan(0);
      expect(inputs(on)).toContain('functions/lib/aws/ownership-table.ts');
      expect((on?.bytes ?? 0) - (off?.bytes ?? 0)).toBeGreaterThan(30_000);
    },
  );

  it('leaves the ownership gate out of the reconciler with follow mode off (no entry is adopted there)', () => {
    expect(inputs(built['reconciler-off'])).not.toContain('functions/lib/follow/gate.ts');
    expect(inputs(built['reconciler-on'])).toContain('functions/lib/follow/gate.ts');
  });

  /** Loads a bundle in a fresh Node process, as the Lambda's init does (the bench's environment). */
  const load = async (r: BundleResult | undefined, follow: boolean): Promise<string> => {
    const script = `import(${JSON.stringify(r?.outfile)}).then((m) => console.log('LOADED ' + typeof m.handler), (e) => console.log('REFUSED ' + e.message))`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...coldLoadEnv(follow ? FOLLOW_CONFIG : undefined), POWERTOOLS_LOG_LEVEL: 'CRITICAL' },
      timeout: 60_000,
    });
    return stdout.trim().split('\n').at(-1) ?? '';
  };

  it.each(['reconciler', 'fanout'])(
    'the %s bundled without follow mode refuses a configuration that enables it, and loads one that does not',
    async (name) => {
      expect(await load(built[`${name}-off`], true)).toMatch(
        /^REFUSED follow\.enabled is true but this function was bundled without follow mode/,
      );
      expect(await load(built[`${name}-off`], false)).toBe('LOADED function');
      expect(await load(built[`${name}-on`], true)).toBe('LOADED function');
    },
  );
});

describe('credentials of the deployed clients and of the local tools', () => {
  let dir: string;
  let probe: BundleResult;
  let server: Server;
  let endpoint: string;
  const seen: IncomingHttpHeaders[] = [];

  // A profile in a shared credentials file, named by AWS_PROFILE: the SDK's default chain prefers
  // it to the environment's keys, so the two key ids tell the two credential sources apart.
  const ENV_KEY = 'AKIAENVIRONMENTKEY01';
  const PROFILE_KEY = 'AKIAPROFILEFILEKEY01';
  let fileEnv: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reconciler-creds-'));
    const credentialsFile = join(dir, 'credentials');
    writeFileSync(
      credentialsFile,
      `[probe]\naws_access_key_id = ${PROFILE_KEY}\naws_secret_access_key = profile-secret\n`,
    );
    writeFileSync(join(dir, 'config'), '[profile probe]\nregion = us-west-2\n');
    fileEnv = {
      AWS_PROFILE: 'probe',
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
      AWS_CONFIG_FILE: join(dir, 'config'),
    };
    server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ tasks: [], failures: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    probe = await bundle('test/infra/fixtures/credentials-probe.ts', join(dir, 'probe'));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const runProbe = async (env: Record<string, string>): Promise<string> => {
    const { stdout } = await run(process.execPath, [probe.outfile], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-west-2',
        AWS_ENDPOINT_URL: endpoint,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
      timeout: 90_000,
    });
    return stdout.trim();
  };
  const signingKey = (headers: IncomingHttpHeaders | undefined): string | undefined =>
    /Credential=([A-Z0-9]+)\//.exec(String(headers?.authorization))?.[1];

  it('the bundle signs with the environment credentials, even where a profile is configured', async () => {
    const out = await runProbe({
      ...fileEnv,
      AWS_ACCESS_KEY_ID: ENV_KEY,
      AWS_SECRET_ACCESS_KEY: 'env-secret',
      AWS_SESSION_TOKEN: 'env-session-token',
    });
    expect(out).toBe('PROBE ok');
    expect(seen).toHaveLength(1);
    expect(signingKey(seen[0])).toBe(ENV_KEY);
    expect(seen[0]?.['x-amz-security-token']).toBe('env-session-token');
  });

  it('the bundle fails with a clear error when the environment has no credentials', async () => {
    const out = await runProbe(fileEnv);
    expect(out).toMatch(
      /^PROBE error AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/,
    );
    expect(seen).toHaveLength(0);
  });

  it('the unbundled clients (the local tools) keep the default chain and pick the profile', async () => {
    const saved = { ...process.env };
    // No keys in the environment here: with both, the chain warns on stderr that it takes the profile.
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    Object.assign(process.env, fileEnv, { AWS_ENDPOINT_URL: endpoint });
    try {
      const { ecs } = createAwsAdapters();
      await ecs.describeTasks('probe-cluster', ['0123456789abcdef0123456789abcdef'], NO_COUNT);
    } finally {
      process.env = saved;
    }
    expect(signingKey(seen[0])).toBe(PROFILE_KEY);
  });
});
