/**
 * The webhook receiver's decisions (functions/webhook/receiver.ts): a real HMAC over the bytes the
 * registry sends, each event type, and what goes to the queues: the work message the fan-out would
 * send for the entry, or the write verification the reconciler would send, read back with the
 * parsers the reconciler and the fan-out use.
 */

import { parseConfig, type ReconcilerConfig } from '../../functions/lib/config/config';
import { parseEventText } from '../../functions/lib/delivery/event';
import { entryGroupId } from '../../functions/lib/delivery/group';
import { readTriggerMessage } from '../../functions/lib/delivery/messages';
import type { TriggerOut, WorkMessage } from '../../functions/lib/delivery/queues';
import type { LoggerLike } from '../../functions/lib/telemetry/telemetry';
import {
  DEFAULT_MAX_SKEW_MS,
  type WebhookReceiver as Receiver,
  WebhookReceiver,
  type WebhookRequest,
} from '../../functions/webhook/receiver';
import { agentCard, pythonJsonDumps, registryPayload, registrySignature, serverCard } from './helpers';

const SECRET = 'k3y-0f-the-registry-webhook';
const NOW = Date.parse('2026-12-08T01:00:00Z');
const REGISTRY = { url: 'https://registry.example.com', auth: { type: 'static' } };

function configOf(extra: Record<string, unknown> = {}): ReconcilerConfig {
  return parseConfig({
    registry: REGISTRY,
    targets: [
      { kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' },
      { kind: 'agent', path: '/flight-booking-agent', cloudMapService: 'flight-booking-agent' },
    ],
    ...extra,
  });
}
const FOLLOW = {
  targets: [],
  follow: { enabled: true, exclude: ['/kept-by-hand/'] },
  ownership: { table: 'owners' },
};

interface Line {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>[];
}

function setup(config: ReconcilerConfig = configOf(), secret: () => Promise<string> = async () => SECRET) {
  const work: WorkMessage[] = [];
  const triggers: TriggerOut[] = [];
  const lines: Line[] = [];
  const log =
    (level: Line['level']) =>
    (message: string, ...fields: Record<string, unknown>[]) =>
      lines.push({ level, message, fields });
  const logger: LoggerLike = {
    debug: () => undefined,
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
  const receiver: Receiver = new WebhookReceiver({
    config,
    secret,
    queues: {
      sendWork: async (m) => {
        work.push(...m);
      },
      sendTriggers: async (m) => {
        triggers.push(...m);
      },
    },
    logger,
    now: () => NOW,
    maxSkewMs: DEFAULT_MAX_SKEW_MS,
  });
  return { receiver, work, triggers, lines };
}

/** A request as the Function URL hands over the registry's POST. */
function signed(
  payload: Record<string, unknown>,
  options: { base64?: boolean; signature?: string | null } = {},
) {
  const body = pythonJsonDumps(payload);
  const signature = options.signature === undefined ? registrySignature(body, SECRET) : options.signature;
  const request: WebhookRequest = {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature === null ? {} : { 'x-registry-signature': signature }),
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 === true,
    requestId: 'req-1',
  };
  return { body, request };
}

const answer = (r: { statusCode: number; body: string }): Record<string, unknown> & { status: number } => ({
  status: r.statusCode,
  ...(JSON.parse(r.body) as Record<string, unknown>),
});

describe('WebhookReceiver: registration and update become work for the entry', () => {
  it.each([
    ['registration', 'server', serverCard('/currenttime/', 'http://currenttime-server:8000/')],
    ['update', 'server', serverCard('/currenttime/', 'http://10.0.3.17:8000/')],
    ['registration', 'agent', agentCard('/flight-booking-agent', 'http://flight-booking-agent:9000/')],
    ['update', 'agent', agentCard('/flight-booking-agent', 'http://10.0.4.2:9000/')],
  ] as const)(
    '%s of a configured %s: one work message in its group, the body a resync of it',
    async (event, kind, card) => {
      const { receiver, work, triggers, lines } = setup();
      const response = await receiver.handle(signed(registryPayload(event, kind, card, NOW)).request);
      const path = card.path as string;
      expect(answer(response)).toMatchObject({
        status: 202,
        outcome: 'enqueued',
        enqueued: 'work',
        eventType: event,
        kind,
        path,
        keptAs: 'configured',
      });
      expect(triggers).toEqual([]);
      expect(work).toHaveLength(1);
      const [message] = work as [WorkMessage];
      expect(message.groupId).toBe(entryGroupId({ kind, path }));
      // The reconciler reads it as it reads the fan-out's resync work: a Scheduled Event.
      const intake = parseEventText(message.body);
      expect(intake).toEqual({
        kind: 'schedule',
        eventId: expect.stringMatching(/^webhook-[0-9a-f]{32}$/),
        time: new Date(NOW).toISOString(),
      });
      expect(message.dedupId).toBe(`${message.groupId}|${intake.kind === 'schedule' ? intake.eventId : ''}`);
      expect(lines.map((l) => l.level)).toEqual(['info']);
    },
  );

  it('reads a base64-encoded body (isBase64Encoded) and checks the signature over its decoded bytes', async () => {
    const { receiver, work } = setup();
    const payload = registryPayload('update', 'server', serverCard('/currenttime/', 'http://x:8000/'), NOW);
    expect((await receiver.handle(signed(payload, { base64: true }).request)).statusCode).toBe(202);
    expect(work).toHaveLength(1);
  });

  it('sends the same message id for the same delivery twice (SQS drops the copy within 5 minutes)', async () => {
    const { receiver, work } = setup();
    const { request } = signed(
      registryPayload('update', 'server', serverCard('/currenttime/', 'http://x:8000/'), NOW),
    );
    await receiver.handle(request);
    await receiver.handle(request);
    expect(work).toHaveLength(2);
    expect(work[0]?.dedupId).toBe(work[1]?.dedupId);
  });

  it('follow mode: an entry no target configures goes to the reconciler, whose follow rule decides', async () => {
    const { receiver, work } = setup(configOf(FOLLOW));
    const response = await receiver.handle(
      signed(
        registryPayload(
          'registration',
          'server',
          serverCard('/weather/', 'http://weather-server:8000/'),
          NOW,
        ),
      ).request,
    );
    expect(answer(response)).toMatchObject({
      status: 202,
      enqueued: 'work',
      keptAs: 'follow',
      path: '/weather/',
    });
    expect(work.map((m) => m.groupId)).toEqual(['server:/weather/']);
  });

  it('follow mode: a path follow.exclude lists is left alone', async () => {
    const { receiver, work } = setup(configOf(FOLLOW));
    const response = await receiver.handle(
      signed(registryPayload('update', 'server', serverCard('/kept-by-hand/', 'http://10.0.0.9:8000/'), NOW))
        .request,
    );
    expect(answer(response)).toMatchObject({ status: 202, outcome: 'ignored', enqueued: 'nothing' });
    expect(String(answer(response).reason)).toContain('follow.exclude');
    expect(work).toEqual([]);
  });

  it('follow mode off: an entry no target configures is ignored (202), nothing sent', async () => {
    const { receiver, work, triggers } = setup();
    const response = await receiver.handle(
      signed(
        registryPayload(
          'registration',
          'server',
          serverCard('/weather/', 'http://weather-server:8000/'),
          NOW,
        ),
      ).request,
    );
    expect(answer(response)).toMatchObject({
      status: 202,
      outcome: 'ignored',
      enqueued: 'nothing',
      reason: 'not a configured target, and follow mode is off',
    });
    expect([...work, ...triggers]).toEqual([]);
  });
});

describe('WebhookReceiver: scan_complete becomes a verification', () => {
  it('a server: one verification on the trigger queue, of the address the scan saw, at once', async () => {
    const { receiver, work, triggers } = setup();
    const payload = registryPayload(
      'scan_complete',
      'server',
      serverCard('/currenttime/', 'http://10.0.3.17:8000/'),
      NOW,
      {
        scan: {
          is_safe: false,
          severity_counts: {},
          tags_applied: ['security-pending'],
          auto_disabled: true,
          scan_error: null,
        },
      },
    );
    const response = await receiver.handle(signed(payload).request);
    expect(answer(response)).toMatchObject({
      status: 202,
      enqueued: 'verification',
      kind: 'server',
      path: '/currenttime/',
    });
    expect(work).toEqual([]);
    expect(triggers).toHaveLength(1);
    expect(triggers[0]?.delaySeconds).toBe(0);
    // The fan-out reads it as the reconciler's own verification after a write.
    expect(readTriggerMessage(triggers[0]?.body ?? '')).toEqual({
      type: 'verify',
      verify: {
        kind: 'server',
        path: '/currenttime/',
        written: 'http://10.0.3.17:8000/',
        eventId: expect.stringMatching(/^webhook-[0-9a-f]{32}$/),
        at: new Date(NOW).toISOString(),
      },
    });
  });

  it("an agent in A2A reverse-proxy mode: the backend address (proxy_pass_url), not the gateway's url", async () => {
    const { receiver, triggers } = setup();
    const card = agentCard(
      '/flight-booking-agent',
      'https://gateway.example.com/agents/flight',
      'http://10.0.4.2:9000/',
    );
    await receiver.handle(signed(registryPayload('scan_complete', 'agent', card, NOW)).request);
    const read = readTriggerMessage(triggers[0]?.body ?? '');
    expect(read.type === 'verify' ? read.verify.written : undefined).toBe('http://10.0.4.2:9000/');
  });

  it('a card without an address: nothing to verify (202 ignored)', async () => {
    const { receiver, triggers } = setup();
    const { proxy_pass_url: _url, ...card } = serverCard('/currenttime/', '');
    const response = await receiver.handle(
      signed(registryPayload('scan_complete', 'server', card, NOW)).request,
    );
    expect(answer(response)).toMatchObject({ status: 202, outcome: 'ignored' });
    expect(triggers).toEqual([]);
  });
});

describe('WebhookReceiver: what it leaves alone (202, nothing sent)', () => {
  it.each([
    [
      'deletion of a configured server',
      registryPayload('deletion', 'server', serverCard('/currenttime/', 'http://x:8000/'), NOW),
      'deletion: nothing to do',
    ],
    [
      'an event type it does not know',
      registryPayload('lifecycle_changed', 'server', serverCard('/currenttime/', 'http://x:8000/'), NOW),
      'event type lifecycle_changed',
    ],
    [
      'a skill',
      registryPayload('registration', 'skill', { path: '/skills/pdf', name: 'pdf' }, NOW),
      'a skill is not a server or agent entry',
    ],
  ])('%s', async (_what, payload, reason) => {
    const { receiver, work, triggers, lines } = setup();
    const response = await receiver.handle(signed(payload).request);
    expect(answer(response)).toMatchObject({ status: 202, outcome: 'ignored', enqueued: 'nothing' });
    expect(String(answer(response).reason)).toContain(reason);
    expect([...work, ...triggers]).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toContain(reason);
  });
});

describe('WebhookReceiver: what it refuses (nothing sent)', () => {
  const payload = registryPayload(
    'registration',
    'server',
    serverCard('/currenttime/', 'http://x:8000/'),
    NOW,
  );

  it.each([
    ['no signature header', { signature: null }],
    [
      'a signature made with another secret',
      { signature: registrySignature(pythonJsonDumps(payload), 'not-the-secret') },
    ],
    ['a signature that is not sha256=<hex>', { signature: 'v1=abc' }],
  ])('401 for %s', async (_what, options) => {
    const { receiver, work, triggers, lines } = setup();
    const response = await receiver.handle(signed(payload, options).request);
    expect(answer(response)).toMatchObject({ status: 401, outcome: 'refused', enqueued: 'nothing' });
    expect([...work, ...triggers]).toEqual([]);
    expect(lines.map((l) => l.level)).toEqual(['warn']);
  });

  it('401 for a tampered body under the original signature', async () => {
    const { receiver, work } = setup();
    const { request, body } = signed(payload);
    const tampered = { ...request, body: body.replace('/currenttime/', '/othertime/') };
    expect((await receiver.handle(tampered)).statusCode).toBe(401);
    expect(work).toEqual([]);
  });

  it('401 for a signed body sent again more than 5 minutes later (a replay)', async () => {
    const { receiver, work } = setup();
    const old = registryPayload(
      'registration',
      'server',
      serverCard('/currenttime/', 'http://x:8000/'),
      NOW - 6 * 60_000,
    );
    const response = await receiver.handle(signed(old).request);
    expect(answer(response)).toMatchObject({ status: 401, outcome: 'refused' });
    expect(String(answer(response).reason)).toContain('360 s from now');
    expect(work).toEqual([]);
  });

  it.each([
    ['a body that is not JSON', 'not json', 'the body is not JSON'],
    ['a JSON array', '[1, 2]', 'not a JSON object'],
    [
      'no card',
      pythonJsonDumps({
        event_type: 'update',
        registration_type: 'server',
        timestamp: new Date(NOW).toISOString(),
      }),
      'card is missing',
    ],
    [
      'no timestamp',
      pythonJsonDumps({ event_type: 'update', registration_type: 'server', card: { path: '/a/' } }),
      'timestamp',
    ],
    [
      'a path with ..',
      pythonJsonDumps(registryPayload('update', 'server', serverCard('/a/../b/', 'http://x/'), NOW)),
      'card.path',
    ],
  ])('400 for a signed body with %s', async (_what, body, reason) => {
    const { receiver, work, triggers } = setup();
    const response = await receiver.handle({
      method: 'POST',
      headers: { 'X-Registry-Signature': registrySignature(body, SECRET) },
      body,
      isBase64Encoded: false,
    });
    expect(answer(response)).toMatchObject({ status: 400, outcome: 'bad-request' });
    expect(String(answer(response).reason)).toContain(reason);
    expect([...work, ...triggers]).toEqual([]);
  });

  it('405 for a GET', async () => {
    const { receiver, work } = setup();
    const response = await receiver.handle({
      method: 'GET',
      headers: {},
      body: undefined,
      isBase64Encoded: false,
    });
    expect(response.statusCode).toBe(405);
    expect(work).toEqual([]);
  });

  it('never logs or answers the secret or the signature', async () => {
    const { receiver, lines } = setup();
    const good = signed(payload);
    const bad = signed(payload, { signature: registrySignature(good.body, 'not-the-secret') });
    const answers = [await receiver.handle(good.request), await receiver.handle(bad.request)];
    const text = JSON.stringify([lines, answers]);
    expect(text).not.toContain(SECRET);
    for (const r of [good.request, bad.request]) {
      const sig = String(r.headers['x-registry-signature']);
      expect(text).not.toContain(sig.slice(7));
    }
    expect(lines).toHaveLength(2);
  });

  it('throws (the invocation fails, nothing sent) when the secret cannot be read', async () => {
    const { receiver, work } = setup(configOf(), async () => {
      throw new Error('AccessDeniedException');
    });
    await expect(receiver.handle(signed(payload).request)).rejects.toThrow('AccessDeniedException');
    expect(work).toEqual([]);
  });
});
