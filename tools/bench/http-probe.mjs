/**
 * Runs in a fresh Node process: one POST (form body, like the token call) and then `warm` GETs
 * (JSON answers, like registry reads) to a loopback server, through `fetch` or `node:http`, with
 * keep-alive in both. Prints `HTTP {"firstMs":…,"warmMs":[…]}`.
 *
 * usage: node http-probe.mjs fetch|http <base-url> <warm>
 */
import { performance } from 'node:perf_hooks';

const [mode, base, warmText] = process.argv.slice(2);
const warm = Number(warmText ?? '50');

async function viaFetch(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
    body,
    signal: AbortSignal.timeout(5_000),
  });
  return JSON.parse(await res.text());
}

let agent;
async function viaHttp(method, url, body) {
  const http = await import('node:http');
  agent ??= new http.Agent({ keepAlive: true });
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: body
          ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }
          : {},
        signal: AbortSignal.timeout(5_000),
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const call = mode === 'fetch' ? viaFetch : mode === 'http' ? viaHttp : undefined;
if (call === undefined) throw new Error('usage: node http-probe.mjs fetch|http <base-url> <warm>');
const started = performance.now();
await call('POST', `${base}/token`, 'grant_type=client_credentials&client_id=a&client_secret=b');
const firstMs = performance.now() - started;
const warmMs = [];
for (let i = 0; i < warm; i++) {
  const t = performance.now();
  await call('GET', `${base}/api/servers/x`);
  warmMs.push(performance.now() - t);
}
agent?.destroy();
process.stdout.write(`HTTP ${JSON.stringify({ firstMs, warmMs, sinceStartMs: performance.now() })}\n`);
