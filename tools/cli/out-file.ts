import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Where a CLI's machine-readable output goes: stdout, or with `--out FILE` a file written
 * atomically (the whole output in a temporary file beside it, renamed into place at the end), so
 * that npm's own banner lines, which go to stdout, never end up in the file, and a run that fails
 * half-way never leaves half a file. With a file, stdout carries nothing.
 */
export interface Output {
  /** Writes one line (a newline is added). */
  line(text: string): void;
  /**
   * Ends the output: with a file, writes it and returns a note for stderr (`wrote … to FILE`);
   * with stdout, returns undefined. Throws when the file cannot be written.
   */
  close(): string | undefined;
}

/** An output to `file` (an absolute path), or to stdout when `file` is undefined. */
export function openOutput(file: string | undefined, what = 'line'): Output {
  if (file === undefined) {
    return {
      line: (text) => {
        process.stdout.write(`${text}\n`);
      },
      close: () => undefined,
    };
  }
  const lines: string[] = [];
  return {
    line: (text) => {
      lines.push(text);
    },
    close: () => {
      const text = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
      writeAtomically(file, text);
      const count = text === '' ? 0 : text.split('\n').length - 1;
      return `wrote ${count} ${what}${count === 1 ? '' : 's'} to ${file}`;
    },
  };
}

/** Writes `text` to `file` through a temporary file in the same folder and a rename. */
export function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new Error(`cannot write ${file}: ${(error as Error).message}`);
  }
}
