/** `node:console` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts). */
const console = process.getBuiltinModule('node:console');
export default console;
export const { Console } = console;
