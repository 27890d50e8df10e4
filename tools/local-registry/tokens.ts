/**
 * Bearer tokens the local registry accepts: a static admin token (the registry's
 * `REGISTRY_API_TOKEN`) and tokens issued by its fake Keycloak client-credentials endpoint, which
 * expire like real ones.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Answer } from './store';

/** Keycloak's token route for the registry's realm. */
export const TOKEN_PATH = '/realms/mcp-gateway/protocol/openid-connect/token';

/** What a presented bearer token turned out to be. */
export type TokenCheck = 'static' | 'keycloak' | 'expired' | 'invalid' | 'none';

/** Which tokens the issuer accepts and issues. */
export interface TokenIssuerOptions {
  /** Accepted as-is (no expiry). */
  staticTokens: string[];
  /** Keycloak clients allowed to use the client-credentials grant: client id → secret. */
  clients: Record<string, string>;
  /** `expires_in` of issued tokens. */
  ttlSeconds: number;
  /** Clock in epoch ms. */
  now: () => number;
}

/** Issues and checks tokens. */
export class TokenIssuer {
  private readonly issued = new Map<string, { clientId: string; expiresAt: number }>();

  constructor(private readonly options: TokenIssuerOptions) {}

  /** Issues a token for `clientId` as the token endpoint would (for tests that need one directly). */
  issue(
    clientId: string,
    ttlSeconds = this.options.ttlSeconds,
  ): { access_token: string; expires_in: number } {
    const now = this.options.now();
    const claims = {
      iss: 'local-registry/realms/mcp-gateway',
      azp: clientId,
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + ttlSeconds,
      jti: randomBytes(8).toString('hex'),
    };
    // JWT-shaped like Keycloak's, but unsigned: only this server ever checks it.
    const token = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
      Buffer.from(JSON.stringify(claims)).toString('base64url'),
      randomBytes(16).toString('base64url'),
    ].join('.');
    this.issued.set(token, { clientId, expiresAt: now + ttlSeconds * 1000 });
    return { access_token: token, expires_in: ttlSeconds };
  }

  /** Makes every issued token expired (the static token is unaffected). */
  expireAll(): void {
    for (const entry of this.issued.values()) entry.expiresAt = Number.NEGATIVE_INFINITY;
  }

  /** Checks an `Authorization` header value. */
  check(authorization: string | undefined): TokenCheck {
    if (authorization === undefined) return 'none';
    const token = bearerToken(authorization);
    if (token === undefined) return 'invalid';
    if (this.options.staticTokens.some((t) => safeEqual(t, token))) return 'static';
    const issued = this.lookup(token);
    if (issued === undefined) return 'invalid';
    return issued.live ? 'keycloak' : 'expired';
  }

  /** The Keycloak client a valid issued token belongs to, or undefined (static, unknown, expired). */
  clientIdOf(authorization: string | undefined): string | undefined {
    const token = bearerToken(authorization);
    const issued = token === undefined ? undefined : this.lookup(token);
    return issued?.live ? issued.clientId : undefined;
  }

  /** A token this issuer issued: its client and whether it is still valid; undefined if not issued here. */
  private lookup(token: string): { clientId: string; live: boolean } | undefined {
    const entry = this.issued.get(token);
    return entry === undefined
      ? undefined
      : { clientId: entry.clientId, live: this.options.now() < entry.expiresAt };
  }

  /**
   * `POST {TOKEN_PATH}`: the client-credentials grant, client authenticated by `client_id` /
   * `client_secret` form fields or HTTP Basic, answered in Keycloak's shapes.
   */
  tokenEndpoint(form: URLSearchParams, authorization: string | undefined): Answer {
    if (form.get('grant_type') !== 'client_credentials') {
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'Unsupported grant_type' },
      };
    }
    let clientId = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
    if (basic?.[1]) {
      const [id, ...rest] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      secret = decodeURIComponent(rest.join(':'));
    }
    const expected = clientId === undefined ? undefined : this.options.clients[clientId];
    if (
      clientId === undefined ||
      expected === undefined ||
      secret === undefined ||
      !safeEqual(expected, secret)
    ) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' },
      };
    }
    const { access_token, expires_in } = this.issue(clientId);
    return {
      status: 200,
      body: {
        access_token,
        expires_in,
        refresh_expires_in: 0,
        token_type: 'Bearer',
        'not-before-policy': 0,
        scope: 'profile email',
      },
    };
  }
}

/** The token of a `Bearer` `Authorization` value. */
function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
