/** `node:util` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const util = process.getBuiltinModule('node:util');
export default util;
export const { isDeepStrictEqual } = util;
