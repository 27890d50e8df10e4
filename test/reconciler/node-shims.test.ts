/**
 * functions/lib/node/: each shim the Lambda bundle uses instead of an ES module import of a
 * built-in (NODE_SHIMS in infra/bundling.ts) hands out the built-in's own objects.
 */
import { NODE_SHIMS } from '../../infra/bundling';

describe.each(NODE_SHIMS)('node:%s shim', (name) => {
  test('its default export is the CommonJS module, and every named export is that module’s own', async () => {
    const shim = (await import(`../../functions/lib/node/${name.replace('/', '-')}`)) as Record<
      string,
      unknown
    >;
    const real = process.getBuiltinModule(`node:${name}`) as Record<string, unknown>;
    expect(shim.default).toBe(real);
    const named = Object.keys(shim).filter((k) => k !== 'default' && k !== '__esModule');
    expect(named.length).toBeGreaterThan(0);
    for (const key of named) expect(shim[key]).toBe(real[key]);
  });
});
