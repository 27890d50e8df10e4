/**
 * functions/lib/node/: each shim the Lambda bundle uses instead of an ES module import of a
 * built-in (NODE_SHIMS in infra/bundling.ts) hands out the built-in's own objects, except the two
 * that stand in for what would load Node's file streams at cold start (`fs.ReadStream`, looked up on
 * first use, and `fs/promises`' `readFile`, on the callback `fs.readFile`), which behave as the
 * built-in's own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadStream } from '../../functions/lib/node/fs';
import { readFile } from '../../functions/lib/node/fs-promises';
import { NODE_SHIMS } from '../../infra/bundling';

/** Named exports that are not the built-in's own object, tested below for what they do. */
const STAND_INS: Record<string, readonly string[]> = { fs: ['ReadStream'], 'fs/promises': ['readFile'] };

describe.each(NODE_SHIMS)('node:%s shim', (name) => {
  test('its default export is the CommonJS module, and every named export is that module’s own', async () => {
    const shim = (await import(`../../functions/lib/node/${name.replace('/', '-')}`)) as Record<
      string,
      unknown
    >;
    const real = process.getBuiltinModule(`node:${name}`) as Record<string, unknown>;
    const standIns = STAND_INS[name] ?? [];
    if (name !== 'fs/promises') expect(shim.default).toBe(real);
    const named = Object.keys(shim).filter((k) => k !== 'default' && k !== '__esModule');
    expect(named.length).toBeGreaterThan(0);
    for (const key of named) if (!standIns.includes(key)) expect(shim[key]).toBe(real[key]);
    for (const key of standIns) expect(named).toContain(key);
  });
});

describe('the stand-ins for what would load the file streams', () => {
  const real = process.getBuiltinModule('node:fs');
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'node-shims-'));
    file = join(dir, 'config');
    writeFileSync(file, '[default]\nregion = us-west-2\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('ReadStream is Node’s class for instanceof, new, subclassing and its prototype', () => {
    const streams = [real.createReadStream(file), new ReadStream(file)];
    class Sub extends ReadStream {}
    const sub = new Sub(file);
    try {
      expect(streams[0]).toBeInstanceOf(ReadStream);
      expect(streams[1]).toBeInstanceOf(real.ReadStream);
      expect(sub).toBeInstanceOf(real.ReadStream);
      expect(sub).toBeInstanceOf(Sub);
      expect({}).not.toBeInstanceOf(ReadStream);
      expect(Buffer.from('x')).not.toBeInstanceOf(ReadStream);
      expect(ReadStream.prototype).toBe(real.ReadStream.prototype);
    } finally {
      for (const s of [...streams, sub]) s.destroy();
    }
  });

  test('readFile reads as fs/promises does, and fails with the same error', async () => {
    await expect(readFile(file, 'utf8')).resolves.toBe(await fsPromises.readFile(file, 'utf8'));
    const missing = join(dir, 'missing');
    const theirs = await fsPromises.readFile(missing, 'utf8').catch((e: NodeJS.ErrnoException) => e);
    await expect(readFile(missing, 'utf8')).rejects.toMatchObject({
      code: 'ENOENT',
      message: (theirs as Error).message,
    });
  });
});
