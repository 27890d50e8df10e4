import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ResponseTooLargeError } from '../../functions/lib/errors';
import { exchange } from '../../functions/lib/registry/http';

/** A loopback server whose answer each test sets; it counts the TCP connections it accepted. */
async function server(handle: (path: string, res: ServerResponse, body: string) => void): Promise<{
  base: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let connections = 0;
  const s: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => handle(req.url ?? '', res, body));
  });
  s.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    connections: () => connections,
    close: async () => {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

const call = (url: string, extra: Partial<Parameters<typeof exchange>[0]> = {}) =>
  exchange({ method: 'GET', url, headers: {}, timeoutMs: 30_000, maxResponseBytes: 1024, ...extra });

describe('registry transport (node:http)', () => {
  test('sends the method, headers and body, and answers status, headers and text', async () => {
    const seen: string[] = [];
    const srv = await server((path, res, body) => {
      seen.push(path, body);
      res.writeHead(201, { 'content-type': 'application/json', etag: 'W/"1"' });
      res.end('{"ok":true}');
    });
    try {
      const a = await call(`${srv.base}/api/servers/x?limit=5`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1&b=%C3%A9',
      });
      expect(a.status).toBe(201);
      expect(a.header('ETag')).toBe('W/"1"');
      expect(a.header('location')).toBeUndefined();
      expect(JSON.parse(a.text)).toEqual({ ok: true });
      expect(seen).toEqual(['/api/servers/x?limit=5', 'a=1&b=%C3%A9']);
    } finally {
      await srv.close();
    }
  });

  test('keeps the connection for the next call (one TCP connection for three calls)', async () => {
    const srv = await server((_p, res) => res.end('{}'));
    try {
      for (let i = 0; i < 3; i++) expect((await call(`${srv.base}/x`)).status).toBe(200);
      expect(srv.connections()).toBe(1);
    } finally {
      await srv.close();
    }
  });

  test('a redirect is answered as it is, never followed', async () => {
    let hits = 0;
    const srv = await server((path, res) => {
      hits++;
      if (path === '/old') res.writeHead(301, { location: '/new' }).end();
      else res.end('{"followed":true}');
    });
    try {
      const a = await call(`${srv.base}/old`);
      expect(a.status).toBe(301);
      expect(a.header('location')).toBe('/new');
      expect(hits).toBe(1);
    } finally {
      await srv.close();
    }
  });

  test('a body that stalls after the headers ends in a TimeoutError at the deadline', async () => {
    const srv = await server((_p, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":'); // and never ends
    });
    try {
      const error = await call(`${srv.base}/slow`, { timeoutMs: 150 }).catch((e: unknown) => e);
      expect((error as Error).name).toBe('TimeoutError');
    } finally {
      await srv.close();
    }
  });

  test('a refused connection rejects with the node:http error code', async () => {
    const srv = await server((_p, res) => res.end());
    const base = srv.base;
    await srv.close();
    const error = await call(`${base}/x`).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
  });

  test('a chunked body past the cap fails with ResponseTooLargeError naming the path, not the query', async () => {
    const srv = await server((_p, res) => {
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write('x'.repeat(512));
      res.end();
    });
    try {
      const error = await call(`${srv.base}/big?token=secret`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResponseTooLargeError);
      expect((error as Error).message).toContain('/big');
      expect((error as Error).message).not.toContain('secret');
    } finally {
      await srv.close();
    }
  });
});
