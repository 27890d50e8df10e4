import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeRuntime } from './node-runtime';
import { type Summary, summarize } from './stats';

const run = promisify(execFile);

/** `fetch` against `node:http` for the registry's and the token endpoint's calls, per Node. */
export interface HttpClientSeries {
  node: string;
  client: 'fetch' | 'http';
  /** The first request of a fresh process (a form POST, like the token call), in ms. */
  firstMs: Summary;
  /** Later requests (JSON GETs on a kept-alive connection), in ms, all processes pooled. */
  warmMs: Summary;
}

/**
 * Fresh processes, interleaved fetch / http, against one loopback server answering small JSON.
 * Only the client differs: same body, same keep-alive, same deadline (`AbortSignal.timeout`).
 */
export async function measureHttpClients(
  nodes: NodeRuntime[],
  options: { runs: number; warm: number },
): Promise<HttpClientSeries[]> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          access_token: 'x',
          expires_in: 300,
          path: '/x/',
          proxy_pass_url: 'http://10.0.0.1:8000/',
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const script = join(__dirname, 'http-probe.mjs');
  const samples = new Map<string, { first: number[]; warm: number[] }>();
  try {
    for (let i = 0; i < options.runs + 1; i++) {
      for (const node of nodes) {
        for (const client of ['fetch', 'http'] as const) {
          const { stdout } = await run(node.execPath, [script, client, base, String(options.warm)], {
            timeout: 30_000,
            env: { PATH: process.env.PATH },
          });
          const line = stdout.split('\n').find((l) => l.startsWith('HTTP '));
          if (line === undefined) throw new Error(`http probe printed nothing: ${stdout}`);
          if (i === 0) continue; // the first round fills the file cache
          const f = JSON.parse(line.slice(5)) as { firstMs: number; warmMs: number[] };
          const key = `${node.version} ${client}`;
          const s = samples.get(key) ?? { first: [], warm: [] };
          s.first.push(f.firstMs);
          s.warm.push(...f.warmMs);
          samples.set(key, s);
        }
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return nodes.flatMap((node) =>
    (['fetch', 'http'] as const).map((client) => {
      const s = samples.get(`${node.version} ${client}`) ?? { first: [], warm: [] };
      return { node: node.version, client, firstMs: summarize(s.first), warmMs: summarize(s.warm) };
    }),
  );
}
