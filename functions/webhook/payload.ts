import { registryPathProblem } from '../lib/config/config';
import { parseJson } from '../lib/json';
import { agentBackendField } from '../lib/registry/agents';

/**
 * The registry's webhook body (registry/services/webhook_service.py at 1.29,
 * `send_registration_webhook`): a JSON object `{event_type, registration_type, timestamp,
 * performed_by, card}`, `scan_complete` adding `scan`. `card` is the entry as stored, credentials
 * stripped; its `path` names the entry, `proxy_pass_url` (servers) or `url` / `proxy_pass_url`
 * (agents in A2A reverse-proxy mode) its address.
 */
export const EVENT_TYPES = ['registration', 'update', 'deletion', 'scan_complete'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a body says, once read. */
export type Delivery =
  /** An event for a server or agent entry. */
  | {
      type: 'entry';
      eventType: EventType;
      kind: 'server' | 'agent';
      path: string;
      /** The address on the card (absent when the card has none). */
      url?: string;
      /** The body's `timestamp`, as epoch milliseconds. */
      sentAt: number;
    }
  /** Signed and well formed, but nothing this receiver acts on (a `skill`, an event type it does not know). */
  | { type: 'other'; eventType: string; registrationType: string; reason: string; sentAt: number }
  /** Signed but not a webhook body the registry sends. */
  | { type: 'malformed'; reason: string };

/** Reads a signed body. Never throws. */
export function readDelivery(text: string): Delivery {
  const parsed = parseJson(text);
  if (!parsed.ok) return { type: 'malformed', reason: 'the body is not JSON' };
  const body = parsed.value;
  if (!isObject(body)) return { type: 'malformed', reason: 'the body is not a JSON object' };
  const eventType = body.event_type;
  const registrationType = body.registration_type;
  if (typeof eventType !== 'string' || eventType === '')
    return { type: 'malformed', reason: 'event_type is missing or not a string' };
  if (typeof registrationType !== 'string' || registrationType === '')
    return { type: 'malformed', reason: 'registration_type is missing or not a string' };
  const sentAt = typeof body.timestamp === 'string' ? Date.parse(body.timestamp) : Number.NaN;
  if (Number.isNaN(sentAt))
    return { type: 'malformed', reason: 'timestamp is missing or not an ISO 8601 time' };
  // The registry's consumers "must allow unknown types or skip them without failing" (its docstring).
  if (!(EVENT_TYPES as readonly string[]).includes(eventType))
    return {
      type: 'other',
      eventType,
      registrationType,
      reason: `event type ${eventType} is not one this receiver acts on`,
      sentAt,
    };
  if (registrationType !== 'server' && registrationType !== 'agent')
    return {
      type: 'other',
      eventType,
      registrationType,
      reason: `a ${registrationType} is not a server or agent entry`,
      sentAt,
    };
  const card = body.card;
  if (!isObject(card)) return { type: 'malformed', reason: 'card is missing or not an object' };
  const path = card.path;
  if (typeof path !== 'string') return { type: 'malformed', reason: 'card.path is missing or not a string' };
  const problem = registryPathProblem(path);
  if (problem !== undefined) return { type: 'malformed', reason: `card.path ${problem}` };
  const field = registrationType === 'server' ? 'proxy_pass_url' : agentBackendField(card);
  const url = card[field];
  return {
    type: 'entry',
    eventType: eventType as EventType,
    kind: registrationType,
    path,
    ...(typeof url === 'string' && url !== '' ? { url } : {}),
    sentAt,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
