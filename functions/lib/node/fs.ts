/**
 * `node:fs` in the Lambda bundle, as its CommonJS module (`NODE_SHIMS` in infra/bundling.ts).
 *
 * `ReadStream` is Node's own class, looked up on first use rather than at load: reading
 * `fs.ReadStream` loads Node's file streams, and with them `fs/promises`, readline and the REPL
 * history (about 20 internal modules), which the functions never use. The SDK only tests
 * `body instanceof ReadStream` for a request body that is neither a string nor bytes
 * (`calculateBodyLength`), and every body the functions send is a string. What it saves:
 * docs/design.md, "Cold-start optimisations".
 */
const fs = process.getBuiltinModule('node:fs');
export default fs;
export const { createReadStream, fstatSync, lstatSync, readFileSync } = fs;

/**
 * `fs.ReadStream` on first use: `instanceof`, `new`, and every property (`prototype`, statics)
 * go to Node's class.
 */
export const ReadStream: typeof fs.ReadStream = new Proxy(
  function ReadStream() {} as unknown as typeof fs.ReadStream,
  {
    get: (_target, key) => Reflect.get(fs.ReadStream, key),
    has: (_target, key) => Reflect.has(fs.ReadStream, key),
    getPrototypeOf: () => Reflect.getPrototypeOf(fs.ReadStream),
    construct: (_target, args, newTarget) =>
      Reflect.construct(fs.ReadStream, args, newTarget === ReadStream ? fs.ReadStream : newTarget),
    apply: (_target, self, args) => Reflect.apply(fs.ReadStream, self, args),
  },
);
