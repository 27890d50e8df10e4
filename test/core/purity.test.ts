import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The decision core depends on nothing outside itself: no valibot, no SDK, no Powertools, no Node
 * I/O, no clock. Everything it needs arrives as plain data, so it can be read and tested alone.
 */

const CORE = resolve(__dirname, '..', '..', 'functions', 'lib', 'core');
const FILES = readdirSync(CORE)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(CORE, f));

/** Every module specifier a file names: `import … from`, `export … from`, `import()`, `require()`. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const p of patterns) for (const m of source.matchAll(p)) found.push(m[1] as string);
  return found;
}

describe('functions/lib/core', () => {
  it('has modules to check', () => {
    // Assert
    expect(FILES.map((f) => relative(CORE, f))).toEqual(expect.arrayContaining(['decide.ts', 'url.ts']));
  });

  it.each(FILES.map((f) => [relative(CORE, f), f]))('%s imports only within core/', (_name, file) => {
    // Arrange
    const source = readFileSync(file, 'utf8');

    // Act
    const outside = specifiers(source).filter(
      (s) => !s.startsWith('./') || dirname(resolve(dirname(file), s)) !== CORE,
    );

    // Assert
    expect(outside).toEqual([]);
  });

  it.each(FILES.map((f) => [relative(CORE, f), f]))('%s uses no I/O, clock or environment', (_name, file) => {
    // Arrange
    const source = readFileSync(file, 'utf8');

    // Act
    const uses = [
      ...source.matchAll(/\b(process|Buffer|console|setTimeout|setInterval|fetch|Date\.now)\b/g),
    ].map((m) => m[1]);

    // Assert
    expect(uses).toEqual([]);
  });

  it('the import check sees every form of import', () => {
    // Arrange
    const source = [
      "import * as v from 'valibot';",
      "import type { A } from '../ports';",
      "export { b } from './task';",
      "import './side-effect';",
      "const c = require('node:fs');",
      "const d = await import('@aws-sdk/client-ecs');",
    ].join('\n');

    // Act
    const result = specifiers(source);

    // Assert
    expect(result.sort()).toEqual(
      ['valibot', '../ports', './task', './side-effect', 'node:fs', '@aws-sdk/client-ecs'].sort(),
    );
  });
});
