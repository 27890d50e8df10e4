/**
 * Runs in a fresh Node process for the cold-start benchmark: imports one bundle (which builds the
 * handler's clients at module scope, as Lambda's init does), checks that it exports a handler, and
 * prints how long after the process started the handler was ready (and the CPU time spent so far). `performance.now()` counts from
 * the process's time origin, so Node's own start-up is included, as it is in a Lambda cold start.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: node cold-probe.mjs <bundle.mjs>');
const before = performance.now();
const mod = await import(pathToFileURL(file).href);
if (typeof mod.handler !== 'function') throw new Error(`${file} exports no handler function`);
const ready = performance.now();
// CPU time (all threads) to the same point: far less sensitive than wall time to a busy machine.
const cpu = process.cpuUsage();
const cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(`${JSON.stringify({ readyMs: ready, importMs: ready - before, cpuMs })}\n`);
