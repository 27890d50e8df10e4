/** `node:fs` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const fs = process.getBuiltinModule('node:fs');
export default fs;
export const { ReadStream, createReadStream, fstatSync, lstatSync, readFileSync } = fs;
