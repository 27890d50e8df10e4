/** `node:crypto` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const crypto = process.getBuiltinModule('node:crypto');
export default crypto;
export const { createHash, createHmac, getRandomValues, randomInt } = crypto;
