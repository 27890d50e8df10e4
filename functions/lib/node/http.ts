/** `node:http` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const http = process.getBuiltinModule('node:http');
export default http;
export const { Agent, request } = http;
