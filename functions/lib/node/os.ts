/** `node:os` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const os = process.getBuiltinModule('node:os');
export default os;
export const { homedir, platform, release } = os;
