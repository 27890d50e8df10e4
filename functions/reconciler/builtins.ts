/**
 * `node:http` and `node:https` for the registry transport, taken on its first request of each
 * protocol (`process.getBuiltinModule`) rather than at load: a registry behind https never needs
 * `http`, and nothing is loaded before the first call needs it. (In the Lambda bundle every other
 * built-in comes through functions/reconciler/node/, see `NODE_SHIMS` in infra/bundling.ts.)
 */
export const http = () => process.getBuiltinModule('node:http');
export const https = () => process.getBuiltinModule('node:https');
