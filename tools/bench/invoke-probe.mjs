/**
 * Runs in a fresh Node process, as a Lambda cold start does: imports the bundle (its clients are
 * built at module scope: Lambda's init), then invokes the handler with the first event of the file
 * and, warm, with the rest, one invocation each. The handler's real Logger and Metrics write to
 * stdout as in Lambda; this probe's own figures come last, on a line starting with `PROBE `.
 *
 * usage: node invoke-probe.mjs <bundle.mjs> <events.json>   (events.json: an array of SQS events)
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [file, eventsFile] = process.argv.slice(2);
if (file === undefined || eventsFile === undefined)
  throw new Error('usage: node invoke-probe.mjs <bundle.mjs> <events.json>');
const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const context = (n) => ({
  functionName: 'registry-reconciler',
  functionVersion: '$LATEST',
  memoryLimitInMB: '256',
  awsRequestId: `bench-${n}`,
  invokedFunctionArn: 'arn:aws:lambda:us-west-2:111122223333:function:registry-reconciler',
  // The deployed reconciler's timeout (delivery/settings.ts workerTimeoutSeconds): its time budget
  // starts an entry only when the entry's worst case fits in what is left.
  getRemainingTimeInMillis: () => 60_000,
});

const beforeImport = performance.now();
const mod = await import(pathToFileURL(file).href);
if (typeof mod.handler !== 'function') throw new Error(`${file} exports no handler function`);
const readyMs = performance.now();
const readyCpu = process.cpuUsage();
const readyRssKb = process.resourceUsage().maxRSS;

const results = [];
const durations = [];
let firstCpuMs = 0;
let firstRssKb = 0;
let warmCpu;
for (const [n, event] of events.entries()) {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  results.push(await mod.handler(event, context(n)));
  durations.push(performance.now() - started);
  if (n === 0) {
    const cpu = process.cpuUsage(cpuBefore);
    firstCpuMs = (cpu.user + cpu.system) / 1000;
    firstRssKb = process.resourceUsage().maxRSS;
    warmCpu = process.cpuUsage();
  }
}
process.stdout.write(
  `\nPROBE ${JSON.stringify({
    node: process.version,
    readyMs,
    importMs: readyMs - beforeImport,
    readyCpuMs: (readyCpu.user + readyCpu.system) / 1000,
    readyRssKb,
    firstMs: durations[0],
    firstCpuMs,
    firstRssKb,
    warmMs: durations.slice(1),
    warmCpuMsPerEvent:
      events.length > 1
        ? ((c) => (c.user + c.system) / 1000 / (events.length - 1))(process.cpuUsage(warmCpu))
        : 0,
    peakRssKb: process.resourceUsage().maxRSS,
    results,
  })}\n`,
);
