import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** infra/ is a list of what it deploys: nothing borrowed from the tools. */

const ROOT = resolve(__dirname, '..', '..');
const INFRA = join(ROOT, 'infra');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) found.push(m[1] as string);
  return found;
}

const FILES = tsFiles(INFRA);

describe('infra/ layout', () => {
  it('finds the construct', () => {
    // Assert
    expect(FILES.map((f) => relative(ROOT, f))).toEqual(
      expect.arrayContaining([join('infra', 'registry-reconciler.ts')]),
    );
  });

  it('imports nothing from tools/', () => {
    // Act
    const offending = FILES.flatMap((f) =>
      specifiers(readFileSync(f, 'utf8'))
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(f, '..', s))
        .filter((target) => relative(ROOT, target).split(/[\\/]/)[0] === 'tools')
        .map((target) => `${relative(ROOT, f)} → ${relative(ROOT, target)}`),
    );

    // Assert
    expect(offending).toEqual([]);
  });
});
