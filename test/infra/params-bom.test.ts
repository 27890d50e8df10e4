/** A parameters file saved by an editor that writes a UTF-8 byte-order mark is read like any other. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadParams } from '../../infra/params';
import { REPO_ROOT } from './helpers';

describe('Function: loadParams', () => {
  it('accepts a UTF-8 byte-order mark', () => {
    // Prepare
    const example = readFileSync(path.join(REPO_ROOT, 'infra', 'params.example.json'), 'utf8');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'reconciler-params-bom-')), 'params.json');
    writeFileSync(file, `\uFEFF${example}`);

    // Act
    const params = loadParams(file);

    // Assess
    expect(params.params).toEqual(loadParams(path.join(REPO_ROOT, 'infra', 'params.example.json')).params);
  });
});
