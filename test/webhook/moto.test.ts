/**
 * The integration tier for the webhook receiver: the bundled handler (as CDK bundles it, in a fresh
 * Node process) against moto_server's SQS and Secrets Manager on 127.0.0.1, given a Function URL
 * request as Lambda hands it over. A signed registration puts exactly one message on the FIFO work
 * queue, in the entry's group; a signed scan_complete one verification on the trigger queue; a
 * request with a wrong or missing signature nothing anywhere.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { CONFIG_ENV } from '../../functions/lib/config/config';
import { parseEventText } from '../../functions/lib/delivery/event';
import { readTriggerMessage } from '../../functions/lib/delivery/messages';
import { TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../../functions/lib/delivery/settings';
import { WEBHOOK_SECRET_ARN_ENV } from '../../functions/webhook/settings';
import { bundle, WEBHOOK_ENTRY } from '../../tools/build';
import { describeWithMoto, motoEnvironment } from '../support/moto';
import { pythonJsonDumps, registryPayload, registrySignature, serverCard } from './helpers';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const SECRET = 'Zq8T0signing0secret0from0secrets0manager';
const CONFIG = {
  registry: { url: 'https://registry.example.com', auth: { type: 'static' } },
  targets: [{ kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' }],
};

describeWithMoto('Webhook receiver (bundled) against moto: SQS and Secrets Manager', (moto) => {
  let work: string;
  let bundlePath: string;
  let sqs: SQSClient;
  let queues: { work: string; trigger: string };
  let env: NodeJS.ProcessEnv;
  let invocations = 0;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'webhook-it-'));
    bundlePath = (await bundle(WEBHOOK_ENTRY, join(work, 'dist'))).outfile;
  }, 180_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await moto.reset();
    sqs = new SQSClient(moto.clientConfig());
    const workQueue = await sqs.send(
      new CreateQueueCommand({ QueueName: 'work.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    const triggerQueue = await sqs.send(new CreateQueueCommand({ QueueName: 'trigger' }));
    queues = { work: workQueue.QueueUrl as string, trigger: triggerQueue.QueueUrl as string };
    const secret = await new SecretsManagerClient(moto.clientConfig()).send(
      new CreateSecretCommand({ Name: 'webhook-signing', SecretString: SECRET }),
    );
    env = {
      ...motoEnvironment(moto.endpoint),
      [CONFIG_ENV]: JSON.stringify(CONFIG),
      [WORK_QUEUE_URL_ENV]: queues.work,
      [TRIGGER_QUEUE_URL_ENV]: queues.trigger,
      [WEBHOOK_SECRET_ARN_ENV]: secret.ARN as string,
      // Its log lines as Lambda gets them: one JSON line each, at INFO.
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_DEV: 'false',
    };
  }, 60_000);

  /** Invokes the bundle once with a Function URL event (payload format 2.0) of this body and signature. */
  async function post(body: string, signature: string | undefined) {
    invocations++;
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/',
      rawQueryString: '',
      headers: {
        'content-type': 'application/json',
        ...(signature === undefined ? {} : { 'x-registry-signature': signature }),
      },
      requestContext: {
        requestId: `req-${invocations}`,
        http: { method: 'POST', path: '/', sourceIp: '10.0.1.5' },
      },
      body,
      isBase64Encoded: false,
    };
    const file = join(work, `event-${invocations}.json`);
    writeFileSync(file, JSON.stringify(event));
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'test', 'support', 'invoke-bundle.mjs'), bundlePath, file],
      { env, cwd: ROOT, timeout: 60_000 },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (line === undefined) throw new Error(`no result from the bundle:\n${stdout}`);
    return {
      result: JSON.parse(line.slice('RESULT '.length)) as { statusCode: number; body: string },
      stdout,
    };
  }

  /** Every message a queue holds, visible, in flight or delayed (moto counts exactly). */
  async function held(url: string): Promise<number> {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return Object.values(Attributes).reduce((sum, n) => sum + Number(n), 0);
  }

  async function receiveAll(url: string): Promise<Message[]> {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    return out.Messages ?? [];
  }

  it('a signed registration of a configured server: 202 and exactly one work message in its group', async () => {
    const body = pythonJsonDumps(
      registryPayload(
        'registration',
        'server',
        serverCard('/currenttime/', 'http://currenttime-server:8000/'),
        Date.now(),
      ),
    );
    const { result, stdout } = await post(body, registrySignature(body, SECRET));
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body)).toMatchObject({
      outcome: 'enqueued',
      enqueued: 'work',
      path: '/currenttime/',
    });
    expect(await held(queues.work)).toBe(1);
    expect(await held(queues.trigger)).toBe(0);
    const [message] = await receiveAll(queues.work);
    expect(message?.Attributes?.MessageGroupId).toBe('server:/currenttime/');
    expect(parseEventText(message?.Body ?? '')).toMatchObject({
      kind: 'schedule',
      eventId: expect.stringMatching(/^webhook-/),
    });
    // One log line for the request, without the secret or the signature.
    const lines = stdout.split('\n').filter((l) => l.includes('"webhook"'));
    expect(lines).toHaveLength(1);
    expect(stdout).not.toContain(SECRET);
    expect(stdout).not.toContain(registrySignature(body, SECRET).slice(7));
  }, 90_000);

  it('a signed scan_complete: one verification on the trigger queue, no work', async () => {
    const body = pythonJsonDumps(
      registryPayload(
        'scan_complete',
        'server',
        serverCard('/currenttime/', 'http://10.0.3.17:8000/'),
        Date.now(),
        {
          scan: {
            is_safe: true,
            severity_counts: {},
            tags_applied: [],
            auto_disabled: false,
            scan_error: null,
          },
        },
      ),
    );
    const { result } = await post(body, registrySignature(body, SECRET));
    expect(result.statusCode).toBe(202);
    expect(await held(queues.work)).toBe(0);
    const messages = await receiveAll(queues.trigger);
    expect(messages).toHaveLength(1);
    expect(readTriggerMessage(messages[0]?.Body ?? '')).toMatchObject({
      type: 'verify',
      verify: { kind: 'server', path: '/currenttime/', written: 'http://10.0.3.17:8000/' },
    });
  }, 90_000);

  it('a wrong or a missing signature: 401, and nothing on either queue', async () => {
    const body = pythonJsonDumps(
      registryPayload(
        'registration',
        'server',
        serverCard('/currenttime/', 'http://currenttime-server:8000/'),
        Date.now(),
      ),
    );
    const wrong = await post(body, registrySignature(body, 'not-the-registry-secret'));
    const missing = await post(body, undefined);
    expect([wrong.result.statusCode, missing.result.statusCode]).toEqual([401, 401]);
    expect(await held(queues.work)).toBe(0);
    expect(await held(queues.trigger)).toBe(0);
  }, 90_000);
});
