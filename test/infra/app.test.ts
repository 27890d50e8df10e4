/**
 * The CDK app's entry (infra/app.ts): what `cdk synth` and `cdk deploy` print when the parameters
 * are wrong. `buildApp` is called in-process for each rule; one run of `tsx infra/app.ts` with the
 * context the CDK CLI would pass shows what the user sees: one line, no stack trace, exit 1.
 */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../infra/app';
import { ParamsError } from '../../infra/params';
import { cdkJsonContext, REPO_ROOT, SECRET_ARN, TOKEN_URL } from './helpers';

const VALID = {
  registry: {
    url: 'https://registry.example.com',
    auth: { type: 'keycloak', tokenUrl: TOKEN_URL, secretArn: SECRET_ARN },
  },
};

function writeParams(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'reconciler-app-')), 'params.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** An App as the CLI builds it from cdk.json and `-c` values, without bundling. */
function appWith(context: Record<string, unknown>): App {
  return new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
}

/** The lines of the `ParamsError` that `buildApp` throws. */
function problems(context: Record<string, unknown>): readonly string[] {
  try {
    buildApp(appWith(context));
  } catch (error) {
    if (error instanceof ParamsError) return error.lines;
    throw error;
  }
  throw new Error('buildApp accepted the parameters');
}

describe('Function: buildApp', () => {
  it('builds the stack from the example parameters, with -c overrides', () => {
    const stack = buildApp(appWith({ stackName: 'Other', dryRun: 'false' }));
    expect(stack.stackName).toBe('Other');
    expect(stack.reconciler.config.dryRun).toBe(false);
  });

  it('names a missing parameters file', () => {
    expect(problems({ params: '/nonexistent/params.json' })).toEqual([
      '/nonexistent/params.json: cannot read the parameters file: no such file (copy infra/params.example.json there and edit it)',
    ]);
  });

  it('names an unknown key and the file it is in', () => {
    const file = writeParams({ ...VALID, alarm: {} });
    expect(problems({ params: file })).toEqual([`${file}: alarm: unknown key (did you mean "alarms"?)`]);
  });

  it('blames a bad -c value on -c <key>', () => {
    expect(problems({ dryRun: 'maybe' })).toEqual(['-c dryRun: "maybe" is neither true nor false']);
  });

  it('names the parameter for a value out of range', () => {
    const file = writeParams({ ...VALID, resyncMinutes: 90, alarms: { oldestMessageAgeMinutes: 2000 } });
    expect(problems({ params: file })).toEqual([
      `${file}: resyncMinutes: must be at most 60`,
      `${file}: alarms.oldestMessageAgeMinutes: must be at most 1440`,
    ]);
  });

  it('names the parameter for a value only the construct can judge', () => {
    const file = writeParams({ ...VALID, timeoutSeconds: 20 });
    expect(problems({ params: file })).toEqual([
      expect.stringMatching(new RegExp(`^${file}: timeoutSeconds: 20 s cannot fit one entry's worst case`)),
    ]);
  });

  it('blames a value the function’s configuration rejects on where it came from', () => {
    const file = writeParams({
      ...VALID,
      targets: [{ kind: 'server', path: 'no-slash', cloudMapService: 'x' }],
    });
    expect(problems({ params: file, 'registry.url': 'ftp://registry' })).toEqual([
      '-c registry.url: must be an http(s) URL',
      `${file}: targets.0.path: must start with /`,
    ]);
    expect(problems({ params: file, registryUrl: 'ftp://registry' })).toEqual([
      '-c registryUrl: registry.url: must be an http(s) URL',
      `${file}: targets.0.path: must start with /`,
    ]);
  });
});

describe('Program: tsx infra/app.ts', () => {
  it('prints one line naming the -c key, no stack trace, and exits 1', () => {
    const result = spawnSync('npx', ['tsx', 'infra/app.ts'], {
      cwd: REPO_ROOT,
      // How the CDK CLI hands `-c dryRun=maybe` (and cdk.json's context) to the app.
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), dryRun: 'maybe' }) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: result.status, stderr: result.stderr, stdout: result.stdout }).toEqual({
      status: 1,
      stderr: '-c dryRun: "maybe" is neither true nor false\n',
      stdout: '',
    });
  }, 70_000);
});
