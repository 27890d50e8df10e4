/**
 * The A/B's "without" side of functions/lib/node/fs-promises.ts: `node:fs/promises` itself,
 * loaded at cold start, as the shim was.
 */
const fsPromises = process.getBuiltinModule('node:fs/promises');
export default fsPromises;
export const { readFile } = fsPromises;
