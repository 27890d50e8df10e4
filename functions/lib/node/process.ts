/** `node:process` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const nodeProcess = process.getBuiltinModule('node:process');
export default nodeProcess;
export const { env, versions } = nodeProcess;
