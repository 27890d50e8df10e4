import { execFileSync } from 'node:child_process';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { ROOT } from '../build';

/** The machine and the run every figure belongs to. Read at run time: nothing is hard-coded. */
export interface RunInfo {
  /** What the report calls the machine (`--machine`), by default `<cores>-core <arch> machine`. */
  machine: string;
  date: string;
  commit: string;
  /** Files changed since the commit (tracked or not), so a figure from a dirty tree says so. */
  dirtyFiles: number;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  esbuild: string;
  /** 1, 5 and 15 minute load averages when the run started: above `cores`, timings are inflated. */
  loadAverage: number[];
}

export async function runInfo(machine?: string): Promise<RunInfo> {
  const git = (...args: string[]): string | undefined => {
    try {
      return execFileSync('git', args, {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return undefined;
    }
  };
  const commit = git('rev-parse', '--short=12', 'HEAD') ?? 'none (no commit yet)';
  const status = git('status', '--porcelain') ?? '';
  const list = cpus();
  const { version: esbuild } = await import('esbuild');
  return {
    machine: machine ?? `${list.length}-core ${arch()} machine`,
    date: new Date().toISOString(),
    commit,
    dirtyFiles: status === '' ? 0 : status.split('\n').length,
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    esbuild,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
