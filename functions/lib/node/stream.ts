/** `node:stream` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const stream = process.getBuiltinModule('node:stream');
export default stream;
export const { PassThrough, Readable, Writable } = stream;
