/**
 * Node built-ins that the function loads as CommonJS modules (`process.getBuiltinModule`) rather
 * than through an ES module `import`. In the ES module bundle an `import … from 'node:http'` builds
 * the built-in's ES facade, which reads every one of its exports at load time: on Node 24 `http`
 * exports `WebSocket` and its events through getters that load undici (about 30 ms of cold start),
 * and `util`'s facade loads `worker_threads`. The module objects are the same either way.
 * Only for built-ins whose facade costs something; the README's Benchmarks section has the figures.
 */
export const util = process.getBuiltinModule('node:util');

/** `node:http` and `node:https`, taken on first use: a registry behind https never needs `http`. */
export const http = () => process.getBuiltinModule('node:http');
export const https = () => process.getBuiltinModule('node:https');
