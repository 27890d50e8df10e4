/**
 * The one slow test: `cdk synth` as a user runs it (cdk.json, infra/app.ts, the example parameters,
 * cdk-nag, real esbuild bundling of the handler), with no AWS credentials and, where the machine
 * allows it, no network at all; then cfn-lint on the template it wrote.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './helpers';

const STACK = 'McpGatewayRegistryReconciler';
/** The bundle holds the SDK clients, Powertools and valibot; more than this means something leaked in. */
const BUNDLE_BUDGET_BYTES = 1_000_000;

/** An environment with nothing that could reach a real AWS account. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_') && !key.startsWith('CDK_')) env[key] = value;
  }
  return {
    ...env,
    // No credentials, no instance metadata lookups (the CLI tries to find a default account).
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_CONFIG_FILE: '/dev/null',
    CDK_DISABLE_VERSION_CHECK: '1',
  };
}

/** Whether this machine lets an unprivileged process run in an empty network namespace. */
function canIsolateNetwork(): boolean {
  return spawnSync('unshare', ['-rn', 'true'], { stdio: 'ignore' }).status === 0;
}

function hasCfnLint(): boolean {
  return spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('App: cdk synth', () => {
  let outdir: string;
  let synth: { status: number | null; output: string };
  const isolated = canIsolateNetwork();

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'reconciler-synth-'));
    const cdk = ['npx', 'cdk', 'synth', '--quiet', '--output', outdir];
    const [command, ...args] = isolated ? ['unshare', '-rn', ...cdk] : cdk;
    const result = spawnSync(command as string, args, {
      cwd: REPO_ROOT,
      env: offlineEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    synth = { status: result.status, output: `${result.stdout}\n${result.stderr}` };
  }, 150_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it(`writes the template with no credentials${isolated ? ' and no network' : ''}`, () => {
    expect({ status: synth.status, output: synth.status === 0 ? '' : synth.output }).toEqual({
      status: 0,
      output: '',
    });
    expect(existsSync(path.join(outdir, `${STACK}.template.json`))).toBe(true);
  });

  it('bundles both handlers (functions/reconciler, functions/fanout) with esbuild as minified ES modules with source maps', () => {
    const assets = readdirSync(outdir).filter((f) => f.startsWith('asset.'));
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const dir = path.join(outdir, asset);
      expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.LEGAL.txt', 'index.mjs.map']);
      const bundle = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      // No CommonJS module may need `require` inside the ES module (tools/build.ts explains).
      expect(bundle).not.toContain('Dynamic require of');
      expect(bundle).toMatch(/export\s*\{[^}]*\bas handler\b/);
      expect(statSync(path.join(dir, 'index.mjs')).size).toBeLessThan(BUNDLE_BUDGET_BYTES);
    }

    const template = JSON.parse(readFileSync(path.join(outdir, `${STACK}.template.json`), 'utf8'));
    const fns = Object.entries(
      template.Resources as Record<string, { Type: string; Metadata?: Record<string, unknown> }>,
    ).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(fns.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'ReconcilerFanoutFunction',
      'ReconcilerFunction',
    ]);
    expect(fns.map(([, fn]) => fn.Metadata?.['aws:asset:path']).sort()).toEqual([...assets].sort());
    for (const [, fn] of fns) expect(fn.Metadata?.['aws:asset:is-bundled']).toBe(true);
  });

  it('passes cfn-lint', () => {
    if (!hasCfnLint()) {
      if (process.env.CI === 'true')
        throw new Error('cfn-lint is not installed (pip install cfn-lint); CI must run it');
      console.warn('SKIPPED: cfn-lint is not installed (pip install cfn-lint)');
      return;
    }
    // W3005: CDK makes the function DependsOn its role as well as the role's policy (so the policy
    // exists before the first invocation); the role half is redundant with the GetAtt, and harmless.
    const lint = spawnSync(
      'cfn-lint',
      ['--ignore-checks', 'W3005', '--', path.join(outdir, `${STACK}.template.json`)],
      {
        encoding: 'utf8',
      },
    );
    expect({ status: lint.status, findings: lint.stdout.trim() }).toEqual({ status: 0, findings: '' });
  });
});
