/**
 * The registry check plan and replay --live make once before any work, against the local registry
 * over HTTP: one message naming what to fix, or nothing when the credentials work.
 */
import type { ReconcilerConfig } from '../../../functions/lib/config/config';
import { checkRegistry } from '../../../tools/cli/registry-check';
import { type LocalRegistry, startLocalRegistry } from '../../../tools/local-registry';
import { findFreePort } from '../../support/moto';

const SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:111122223333:secret:m2m-AbCdEf';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry({
    staticToken: 'the-static-token',
    clients: { 'm2m-client': 'the-client-secret' },
    seed: { servers: [], agents: [] },
  });
});
afterAll(() => registry?.stop());

function settings(
  auth: ReconcilerConfig['registry']['auth'],
  url = registry.url,
): ReconcilerConfig['registry'] {
  return { url, auth, timeoutMs: 2000, maxAttempts: 1 } as ReconcilerConfig['registry'];
}

describe('checkRegistry', () => {
  test('a static token the registry accepts: no problem', async () => {
    const problem = await checkRegistry(settings({ type: 'static', tokenEnv: 'T' }), {
      env: { T: 'the-static-token' },
    });

    expect(problem).toBeUndefined();
  });

  test('the token variable unset, or a token refused: one sentence naming the variable', async () => {
    const unset = await checkRegistry(settings({ type: 'static', tokenEnv: 'T' }), { env: {} });
    const refused = await checkRegistry(settings({ type: 'static', tokenEnv: 'T' }), { env: { T: 'wrong' } });

    expect(unset).toMatch(/^no registry token: set the environment variable T /);
    expect(refused).toMatch(
      new RegExp(`^the registry at ${registry.url} refuses the token in T: .*set T to a valid`),
    );
  });

  test('Keycloak: good client credentials pass; a secret without them names the secret', async () => {
    const auth = { type: 'keycloak' as const, tokenUrl: registry.tokenUrl, secretArn: SECRET_ARN };

    const good = await checkRegistry(settings(auth), {
      secrets: async () => JSON.stringify({ client_id: 'm2m-client', client_secret: 'the-client-secret' }),
    });
    const bad = await checkRegistry(settings(auth), { secrets: async () => '{"client_id":"m2m-client"}' });
    const rejected = await checkRegistry(settings(auth), {
      secrets: async () => JSON.stringify({ client_id: 'm2m-client', client_secret: 'wrong' }),
    });

    expect(good).toBeUndefined();
    expect(bad).toMatch(new RegExp(`^no registry token from Keycloak: .*${SECRET_ARN}`));
    expect(rejected).toMatch(/^no registry token from Keycloak: .*Keycloak rejected the client credentials/);
  });

  test('a registry nobody answers at: names the URL', async () => {
    const closed = `http://127.0.0.1:${await findFreePort()}`;

    const problem = await checkRegistry(settings({ type: 'static', tokenEnv: 'T' }, closed), {
      env: { T: 'the-static-token' },
    });

    expect(problem).toMatch(new RegExp(`^the registry at ${closed} cannot be reached`));
  });
});
