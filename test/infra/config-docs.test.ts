/**
 * docs/configuration.md's field table is the schema's: every field described, no description of
 * a field that does not exist, and the table in the page exactly what `npm run docs:config` writes.
 */
import { readFileSync } from 'node:fs';
import {
  CONFIGURATION_PAGE,
  configurationTable,
  DESCRIPTIONS,
  fieldRows,
  TABLE_END,
  TABLE_START,
  withTable,
} from '../../infra/config-docs';

describe('The configuration table', () => {
  const rows = fieldRows();

  it('describes every field of the schema, and only those', () => {
    const paths = rows.map((r) => r.path);
    expect(paths.filter((p) => DESCRIPTIONS[p] === undefined)).toEqual([]);
    expect(Object.keys(DESCRIPTIONS).filter((p) => !paths.includes(p))).toEqual([]);
  });

  it('lists the fields operators are told to set', () => {
    expect(rows.map((r) => r.path)).toEqual(
      expect.arrayContaining([
        'registry.api',
        'registry.maxResponseBytes',
        'registry.verifyAfterMs',
        'registry.scanSettleMs',
        'resyncMinutes',
      ]),
    );
    expect(rows.map((r) => r.path)).not.toContain('lagRetry');
  });

  it('is current in docs/configuration.md (run `npm run docs:config` when this fails)', () => {
    const page = readFileSync(CONFIGURATION_PAGE, 'utf8');
    const start = page.indexOf(TABLE_START);
    const end = page.indexOf(TABLE_END);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(page.slice(start, end + TABLE_END.length)).toBe(configurationTable());
  });

  it('rewrites only the part between its markers', () => {
    const page = `# Configuration\n\nBefore.\n\n${TABLE_START}\nold\n${TABLE_END}\n\nAfter.\n`;
    expect(withTable(page)).toBe(`# Configuration\n\nBefore.\n\n${configurationTable()}\n\nAfter.\n`);
  });

  it('shows each field with its type and default', () => {
    expect(configurationTable()).toContain('| `registry.timeoutMs` | config | integer 100–60000 | `5000` |');
    expect(configurationTable()).toContain('| `timeoutSeconds` | deploy | integer 10–300 | `60` |');
  });
});
