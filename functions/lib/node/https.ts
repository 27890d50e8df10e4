/** `node:https` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const https = process.getBuiltinModule('node:https');
export default https;
export const { Agent, request } = https;
