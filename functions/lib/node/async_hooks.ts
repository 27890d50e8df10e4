/** `node:async_hooks` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const asyncHooks = process.getBuiltinModule('node:async_hooks');
export default asyncHooks;
export const { AsyncLocalStorage } = asyncHooks;
