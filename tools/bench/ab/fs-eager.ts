/**
 * The A/B's "without" side of the lazy `fs.ReadStream` (functions/lib/node/fs.ts): the `node:fs`
 * shim as it was, reading every name at load, `ReadStream` included (which loads Node's file streams).
 */
const fs = process.getBuiltinModule('node:fs');
export default fs;
export const { ReadStream, createReadStream, fstatSync, lstatSync, readFileSync } = fs;
