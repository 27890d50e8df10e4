/**
 * The CLIs stop quietly when their stdout is closed early (`npm run replay -- --json | head -1`):
 * exit 0, no stack trace, instead of an unhandled EPIPE.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './support/account';

interface Ended {
  code: number | null;
  stderr: string;
}

/** Runs a CLI and closes the read end of its stdout after the first chunk (or at once). */
function runClosingStdout(tool: string, args: string[], atOnce: boolean): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tools', tool, 'cli.ts'), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    if (atOnce) child.stdout.destroy();
    else child.stdout.once('data', () => child.stdout.destroy());
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a closed stdout', () => {
  test('replay --json read by a reader that stops after the first line exits 0 without a stack trace', async () => {
    // Act
    const ended = await runClosingStdout('replay', ['--json'], false);

    // Assert
    expect(ended.stderr).not.toMatch(/EPIPE|at .*\(|Error/);
    expect(ended.code).toBe(0);
  }, 180_000);

  test.each(['plan', 'discover'])(
    '%s --help into a closed pipe exits 0 without a stack trace',
    async (tool) => {
      // Act
      const ended = await runClosingStdout(tool, ['--help'], true);

      // Assert
      expect(ended.stderr).not.toMatch(/EPIPE|at .*\(|Error/);
      expect(ended.code).toBe(0);
    },
    60_000,
  );
});
