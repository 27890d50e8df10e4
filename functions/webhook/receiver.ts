import { createHash } from 'node:crypto';
import type { ReconcilerConfig } from '../lib/config/config';
import { scheduledEventBody } from '../lib/delivery/bodies';
import { entryGroupId, workDedupId } from '../lib/delivery/group';
import { verifyBody } from '../lib/delivery/messages';
import type { FanoutQueues } from '../lib/delivery/queues';
import { type EntryScope, entryScope } from '../lib/follow/scope';
import type { EntryRef } from '../lib/reconcile/ports';
import type { LoggerLike } from '../lib/telemetry/telemetry';
import { type Delivery, readDelivery } from './payload';
import { checkSignature, SIGNATURE_HEADER } from './signature';

/**
 * The receiver of the registry's registration webhook (handler.ts is the Lambda around it). Every
 * request is answered and logged once:
 * - a missing, malformed or wrong `X-Registry-Signature`, or a body whose `timestamp` is further
 *   than `maxSkewMs` from now (a replayed delivery): 401, nothing sent;
 * - a signed body that is not the registry's webhook JSON: 400, nothing sent;
 * - `registration` / `update` of a server or agent the reconciler keeps (a configured target, or
 *   any entry follow mode may adopt): one work message for the entry, exactly as the fan-out sends
 *   for a resync (its FIFO group, a Scheduled Event body), so the reconciler checks the entry now;
 *   whether follow mode adopts it, and whether the ownership table lets it write, stay the
 *   reconciler's decisions;
 * - `scan_complete` of such an entry: a write verification on the trigger queue, as the reconciler
 *   sends after a write (the fan-out reads the entry and reports a server the scan disabled);
 * - `deletion`, an entry the reconciler does not keep, a skill, an event type it does not know:
 *   202, nothing sent, with the reason.
 * A signature is checked before anything of the body is read.
 */
export interface ReceiverDeps {
  config: Pick<ReconcilerConfig, 'targets' | 'follow'>;
  /** The signing secret (read from Secrets Manager, kept per container). */
  secret: () => Promise<string>;
  queues: FanoutQueues;
  logger: LoggerLike;
  now: () => number;
  /** How far a body's `timestamp` may be from now, ms. */
  maxSkewMs: number;
}

/** One request as the Lambda Function URL hands it over (payload format 2.0). */
export interface WebhookRequest {
  method: string;
  /** Header names in any case (a Function URL lowercases them). */
  headers: Readonly<Record<string, string | undefined>>;
  body: string | undefined;
  isBase64Encoded: boolean;
  requestId?: string;
  sourceIp?: string;
}

export interface WebhookResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** What was done with one request: the answer's body and the log line's fields. */
export interface WebhookOutcome {
  status: 202 | 400 | 401 | 405;
  outcome: 'enqueued' | 'ignored' | 'refused' | 'bad-request' | 'method-not-allowed';
  /** What was sent: `work` (work queue), `verification` (trigger queue) or nothing. */
  enqueued: 'work' | 'verification' | 'nothing';
  reason?: string;
  eventType?: string;
  registrationType?: string;
  kind?: 'server' | 'agent';
  path?: string;
  /** How the reconciler keeps the entry: a configured target, or follow mode's adoption path. */
  keptAs?: 'configured' | 'follow';
  /** The trigger id the messages carry (`webhook-` and a hash of the body). */
  eventId?: string;
}

/** The replay window the registry's documentation suggests to consumers: 5 minutes. */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

export class WebhookReceiver {
  private readonly scope: (ref: EntryRef) => EntryScope;

  constructor(private readonly deps: ReceiverDeps) {
    this.scope = entryScope(deps.config);
  }

  /** Answers one request; throws only when the secret cannot be read or a queue refuses (the caller's 5xx). */
  async handle(request: WebhookRequest): Promise<WebhookResponse> {
    const outcome = await this.decide(request);
    const fields = {
      webhook: {
        ...outcome,
        ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
        ...(request.sourceIp === undefined ? {} : { sourceIp: request.sourceIp }),
      },
    };
    const what = [outcome.eventType, outcome.kind, outcome.path].filter((p) => p !== undefined).join(' ');
    const message = `webhook ${outcome.status} ${outcome.outcome}${what === '' ? '' : ` (${what})`}: ${
      outcome.enqueued === 'nothing' ? (outcome.reason ?? 'nothing sent') : `sent ${outcome.enqueued}`
    }`;
    if (outcome.status === 202) this.deps.logger.info(message, fields);
    else this.deps.logger.warn(message, fields);
    const { status, ...answer } = outcome;
    return {
      statusCode: status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(answer),
    };
  }

  private async decide(request: WebhookRequest): Promise<WebhookOutcome> {
    if (request.method.toUpperCase() !== 'POST')
      return {
        status: 405,
        outcome: 'method-not-allowed',
        enqueued: 'nothing',
        reason: `${request.method} is not POST`,
      };
    const raw = Buffer.from(request.body ?? '', request.isBase64Encoded ? 'base64' : 'utf8');
    const signature = checkSignature(
      raw,
      header(request.headers, SIGNATURE_HEADER),
      await this.deps.secret(),
    );
    if (!signature.ok)
      return { status: 401, outcome: 'refused', enqueued: 'nothing', reason: signature.reason };
    const delivery = readDelivery(raw.toString('utf8'));
    if (delivery.type === 'malformed')
      return { status: 400, outcome: 'bad-request', enqueued: 'nothing', reason: delivery.reason };
    const skew = Math.abs(this.deps.now() - delivery.sentAt);
    if (skew > this.deps.maxSkewMs)
      return {
        status: 401,
        outcome: 'refused',
        enqueued: 'nothing',
        reason: `timestamp is ${Math.round(skew / 1000)} s from now, outside the ${Math.round(this.deps.maxSkewMs / 1000)} s window (a replayed delivery?)`,
      };
    if (delivery.type === 'other')
      return {
        status: 202,
        outcome: 'ignored',
        enqueued: 'nothing',
        reason: delivery.reason,
        eventType: delivery.eventType,
        registrationType: delivery.registrationType,
      };
    const eventId = `webhook-${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`;
    const about = {
      eventType: delivery.eventType,
      registrationType: delivery.kind,
      kind: delivery.kind,
      path: delivery.path,
    };
    const ignored = (reason: string): WebhookOutcome => ({
      status: 202,
      outcome: 'ignored',
      enqueued: 'nothing',
      reason,
      ...about,
    });
    if (delivery.eventType === 'deletion')
      return ignored(
        'deletion: nothing to do (the entry is gone from the registry; no task event or resync reaches it again)',
      );
    const keptAs = this.keptAs(delivery);
    if (keptAs === undefined)
      return ignored(
        this.deps.config.follow.enabled
          ? 'follow.exclude lists this path'
          : 'not a configured target, and follow mode is off',
      );
    const enqueued = { status: 202, outcome: 'enqueued', ...about, keptAs, eventId } as const;
    if (delivery.eventType === 'scan_complete') {
      if (delivery.url === undefined) return ignored('scan_complete: the card has no address to verify');
      // The address the scan saw stands for the written one: the fan-out reads the entry, reports
      // a server the scan disabled, and sends work when the entry has another address now.
      await this.deps.queues.sendTriggers([
        {
          body: verifyBody({
            kind: delivery.kind,
            path: delivery.path,
            written: delivery.url,
            eventId,
            at: new Date(delivery.sentAt).toISOString(),
          }),
          delaySeconds: 0,
        },
      ]);
      return { ...enqueued, enqueued: 'verification' };
    }
    const groupId = entryGroupId({ kind: delivery.kind, path: delivery.path });
    await this.deps.queues.sendWork([
      {
        groupId,
        dedupId: workDedupId(groupId, eventId),
        body: scheduledEventBody(eventId, new Date(this.deps.now()).toISOString()),
      },
    ]);
    return { ...enqueued, enqueued: 'work' };
  }

  /**
   * How the reconciler keeps an entry: a configured target of that kind and path; otherwise, with
   * follow mode on, any entry `follow.exclude` does not list (the reconciler's follow rule decides
   * whether it is adopted, as for the resync's pages); otherwise not at all.
   */
  private keptAs(entry: { kind: 'server' | 'agent'; path: string }): 'configured' | 'follow' | undefined {
    const scope = this.scope(entry);
    if (scope === 'configured') return 'configured';
    return scope === 'adoptable' && this.deps.config.follow.enabled ? 'follow' : undefined;
  }
}

/** A header's value, its name in any case. */
function header(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

export type { Delivery };
