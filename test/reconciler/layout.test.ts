import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * The handlers stay a composition of what is built once per container. (Files are split by seam,
 * not by size: the reconcile's straight line is one file, read top to bottom.)
 */

const ROOT = resolve(__dirname, '..', '..');
const HANDLER_MAX_LINES = 60;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function lines(path: string): number {
  return readFileSync(path, 'utf8').split('\n').length - 1;
}

const FILES = tsFiles(join(ROOT, 'functions')).map((f) => relative(ROOT, f).split('\\').join('/'));

describe('functions/ layout', () => {
  it('finds the reconciler source', () => {
    // Assert
    expect(FILES).toEqual(expect.arrayContaining(['functions/reconciler/handler.ts']));
  });

  it.each(['functions/reconciler/handler.ts', 'functions/fanout/handler.ts'])(
    `keeps %s at ${HANDLER_MAX_LINES} lines at most`,
    (file) => {
      // Act
      const count = lines(join(ROOT, file));

      // Assert
      expect(count).toBeLessThanOrEqual(HANDLER_MAX_LINES);
    },
  );
});
