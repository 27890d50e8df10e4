import { describeError } from '../../functions/lib/errors';

/**
 * Runs a CLI's `main` on the process arguments and sets the exit code it returns; an error that
 * escapes `main` is printed in one line as `<name>: <message>` (no stack trace) and exits 1.
 */
export function runCli(name: string, main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${describeError(error)}\n`);
      process.exitCode = 1;
    },
  );
}
