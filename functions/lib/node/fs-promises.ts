/**
 * `node:fs/promises` in the Lambda bundle: the one function the bundle imports from it (`readFile`,
 * which the SDK's shared-config loader calls to look for `~/.aws/config` on a client's first
 * request), built on the callback `fs.readFile`. Loading `fs/promises` itself loads about 20 internal
 * modules (file streams, readline, the REPL history) that nothing here uses; `fs.readFile` returns
 * the same contents and fails with the same errors (`ENOENT`, …). A bundled module that imports
 * another name from `node:fs/promises` fails the build ("No matching export"): add it here.
 */
const fs = process.getBuiltinModule('node:fs');
const { promisify } = process.getBuiltinModule('node:util');

export const readFile: typeof import('node:fs/promises').readFile = promisify(fs.readFile);
