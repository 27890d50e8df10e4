import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeycloakTokenProvider } from '../../functions/reconciler/registry/auth';

/**
 * A Keycloak token endpoint on loopback, so the benchmarks count registry tokens with the real
 * `KeycloakTokenProvider` (its cache, its refresh margin) on the simulation's clock.
 */
export interface KeycloakStandIn {
  tokenUrl: string;
  /** Token requests served. */
  requests: () => number;
  /** The `expires_in` it answers, in seconds. */
  expiresInS: number;
  provider: (now: () => number) => KeycloakTokenProvider;
  close: () => Promise<void>;
}

export async function startKeycloak(expiresInS = 300): Promise<KeycloakStandIn> {
  let served = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      served++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ access_token: `bench-${served}`, expires_in: expiresInS, token_type: 'Bearer' }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const tokenUrl = `http://127.0.0.1:${port}/realms/mcp-gateway/protocol/openid-connect/token`;
  return {
    tokenUrl,
    requests: () => served,
    expiresInS,
    provider: (now) =>
      new KeycloakTokenProvider({
        tokenUrl,
        secretId: 'arn:aws:secretsmanager:us-west-2:111122223333:secret:bench-m2m-AbCdEf',
        secrets: async () => JSON.stringify({ client_id: 'bench', client_secret: 'bench-secret' }),
        timeoutMs: 5_000,
        now,
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The fewest token requests that cover calls at these times with tokens living `lifetimeMs`. */
export function minimumTokens(times: readonly number[], lifetimeMs: number): number {
  let count = 0;
  let validUntil = Number.NEGATIVE_INFINITY;
  for (const t of [...times].sort((a, b) => a - b)) {
    if (t >= validUntil) {
      count++;
      validUntil = t + lifetimeMs;
    }
  }
  return count;
}
