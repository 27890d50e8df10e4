/** `node:fs/promises` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const fsPromises = process.getBuiltinModule('node:fs/promises');
export default fsPromises;
export const { readFile } = fsPromises;
