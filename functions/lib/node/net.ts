/** `node:net` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const net = process.getBuiltinModule('node:net');
export default net;
export const { isIP } = net;
