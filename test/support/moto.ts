/**
 * A local `moto_server` for integration tests: AWS APIs (ECS, Cloud Map, EventBridge, SQS, …) served
 * on 127.0.0.1 only, with fake credentials, so no test can reach a real AWS endpoint.
 *
 * ```ts
 * describeWithMoto('Cloud Map adapter', (moto) => {
 *   beforeEach(() => moto.reset());
 *   it('lists instances', async () => {
 *     const client = new ServiceDiscoveryClient(awsClientConfig(moto.endpoint));
 *     …
 *   });
 * });
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** moto's fixed account id: ARNs it creates carry it. */
export const MOTO_ACCOUNT = '123456789012';
/** The region every helper here uses, so ARNs in tests are predictable. */
export const MOTO_REGION = 'us-west-2';
/** Fake credentials: moto accepts anything, and real AWS would reject these. */
export const FAKE_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

const HOST = '127.0.0.1';
const EXECUTABLE = 'moto_server';
/**
 * Generous on purpose: Python starting moto takes seconds on an idle machine and many more on a
 * loaded one. A deadline here guards against a server that never answers, not a slow one.
 */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 5_000;
/** Keep the server's last lines of output to explain a failed start. */
const OUTPUT_TAIL_LINES = 30;

/** A running moto server. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`: pass it as the SDK client's `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  /** Clears every resource (`POST /moto-api/reset`) and restores manual ECS task progression. */
  reset(): Promise<void>;
  /** Stops the server; safe to call twice. */
  stop(): Promise<void>;
}

/** Children still running, killed when this process exits whatever the way (a crashed test included). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Whether `moto_server` is on PATH (without starting Python, which takes a second). */
export function isMotoInstalled(env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, EXECUTABLE), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A loopback port nobody listens on right now (the OS picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe socket'));
      });
    });
  });
}

async function motoApi(endpoint: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  if (!response.ok)
    throw new Error(`moto ${path} answered HTTP ${response.status}: ${await response.text()}`);
}

/**
 * moto ages an ECS task one step towards STOPPED on every DescribeTasks call by default; the
 * reconciler describes tasks all the time, so tasks must keep the status a test gives them.
 */
function freezeEcsTasks(endpoint: string): Promise<void> {
  return motoApi(endpoint, 'state-manager/set-transition', {
    model_name: 'ecs::task',
    transition: { progression: 'manual', times: 1_000_000_000 },
  });
}

async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `moto_server exited (${child.exitCode ?? child.signalCode}) before answering:\n${output()}`,
      );
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms:\n${output()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(force);
      running.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `moto_server` on a free loopback port, waits until it answers and switches ECS tasks to
 * manual progression. Throws when moto is missing or does not start; the error carries its output.
 */
export async function startMoto(): Promise<MotoServer> {
  const port = await findFreePort();
  const endpoint = `http://${HOST}:${port}`;
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
    tail.splice(0, Math.max(0, tail.length - OUTPUT_TAIL_LINES));
  };
  const child = spawn(EXECUTABLE, ['-H', HOST, '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // moto never needs a real identity; its own boto3 must not find one either.
    env: fakeAwsEnvironment(),
  });
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start ${EXECUTABLE}: ${error.message}`)));
  });
  running.add(child);
  installExitHook();

  try {
    await Promise.race([waitUntilAnswering(endpoint, child, () => tail.join('\n')), spawnError]);
    await freezeEcsTasks(endpoint);
  } catch (error) {
    await stopChild(child);
    throw error;
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    port,
    async reset() {
      await motoApi(endpoint, 'reset');
      await freezeEcsTasks(endpoint);
    },
    stop() {
      stopped ??= stopChild(child);
      return stopped;
    },
  };
}

/** Variables through which a real identity could leak into a test process. */
const REAL_IDENTITY_VARS = [
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
];

/**
 * A copy of `base` pinned to fake credentials and a fixed region, with every variable that could
 * name a real identity removed and the EC2 metadata lookup off: for child processes (moto itself,
 * the AWS CLI, a tool under test).
 */
export function fakeAwsEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of REAL_IDENTITY_VARS) delete env[name];
  return {
    ...env,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_REGION: MOTO_REGION,
    AWS_DEFAULT_REGION: MOTO_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * `fakeAwsEnvironment(base)` plus `AWS_ENDPOINT_URL`, which every SDK v3 client and the AWS CLI
 * honour: a child process started with it talks to moto only.
 */
export function motoEnvironment(endpoint: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...fakeAwsEnvironment(base), AWS_ENDPOINT_URL: endpoint };
}

/** Client configuration shared by every AWS SDK v3 client pointed at moto. */
export interface AwsClientConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * Cloud Map's `DiscoverInstances` is sent to `data-<host>`; with a custom endpoint that host does
   * not exist. Harmless for clients without host prefixes, so it is always on.
   */
  disableHostPrefix: boolean;
  maxAttempts: number;
}

/** Region, fake static credentials and the moto endpoint, for any SDK v3 client constructor. */
export function awsClientConfig(endpoint: string): AwsClientConfig {
  return {
    region: MOTO_REGION,
    endpoint,
    credentials: { ...FAKE_CREDENTIALS },
    disableHostPrefix: true,
    // A local server either answers or is broken: retrying only slows a failing test down.
    maxAttempts: 1,
  };
}

/** What a `describeWithMoto` body gets: the server's address, valid inside hooks and tests. */
export interface MotoFixture {
  readonly endpoint: string;
  readonly port: number;
  /** Clears moto's state (call it in `beforeEach` where tests must not see each other's resources). */
  reset(): Promise<void>;
  /** `awsClientConfig(endpoint)`. */
  clientConfig(): AwsClientConfig;
}

/**
 * `describe` with a moto server started before its tests and stopped after them. Where
 * `moto_server` is not installed, the block is skipped with a visible message; under `CI=true`
 * it fails instead, so CI never passes by skipping.
 */
export function describeWithMoto(name: string, body: (moto: MotoFixture) => void): void {
  if (!isMotoInstalled()) {
    const message = `${EXECUTABLE} is not on PATH (pip install 'moto[server]'): "${name}" needs it`;
    if (process.env.CI === 'true') {
      describe(name, () => {
        it('needs moto_server', () => {
          throw new Error(`${message}; CI must not skip these tests`);
        });
      });
    } else {
      console.warn(`SKIPPED: ${message}`);
      describe.skip(name, () => body(unstartedFixture()));
    }
    return;
  }

  describe(name, () => {
    let server: MotoServer | undefined;
    const current = (): MotoServer => {
      if (server === undefined) throw new Error('moto is only available inside hooks and tests');
      return server;
    };
    beforeAll(async () => {
      server = await startMoto();
    }, START_TIMEOUT_MS + 30_000);
    afterAll(async () => {
      await server?.stop();
    });
    body({
      get endpoint() {
        return current().endpoint;
      },
      get port() {
        return current().port;
      },
      reset: () => current().reset(),
      clientConfig: () => awsClientConfig(current().endpoint),
    });
  });
}

function unstartedFixture(): MotoFixture {
  const fail = (): never => {
    throw new Error(`${EXECUTABLE} is not installed`);
  };
  return {
    get endpoint() {
      return fail();
    },
    get port() {
      return fail();
    },
    reset: fail,
    clientConfig: fail,
  };
}
