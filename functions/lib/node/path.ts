/** `node:path` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const path = process.getBuiltinModule('node:path');
export default path;
export const { join, sep } = path;
