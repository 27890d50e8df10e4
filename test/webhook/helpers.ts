/** What the registry sends, as its webhook service builds it (registry/services/webhook_service.py at 1.29). */
import { createHmac } from 'node:crypto';

/**
 * Python's `json.dumps(payload)` with its defaults (`", "` and `": "` separators, `ensure_ascii`):
 * the registry signs and sends exactly these bytes, which `JSON.stringify` would not reproduce.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${pythonJsonDumps(k)}: ${pythonJsonDumps(v)}`)
    .join(', ')}}`;
}

/** `datetime.now(UTC).isoformat()`: microseconds and `+00:00`. */
export function pythonIsoNow(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1123+00:00');
}

/** The envelope `send_registration_webhook` builds. */
export function registryPayload(
  eventType: string,
  registrationType: string,
  card: Record<string, unknown>,
  sentAtMs: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    event_type: eventType,
    registration_type: registrationType,
    timestamp: pythonIsoNow(sentAtMs),
    performed_by: 'admin',
    card,
    ...extra,
  };
}

/** `X-Registry-Signature` as `_sign_body` makes it. */
export function registrySignature(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex')}`;
}

/** A server card as the registry stores it (the fields the receiver reads, and a few it does not). */
export function serverCard(path: string, url: string): Record<string, unknown> {
  return {
    server_name: `Server ${path}`,
    path,
    proxy_pass_url: url,
    description: 'a server',
    tags: [],
    num_tools: 1,
    is_enabled: true,
  };
}

/** An agent card (`url`; in A2A reverse-proxy mode the backend is `proxy_pass_url`). */
export function agentCard(path: string, url: string, proxyPassUrl?: string): Record<string, unknown> {
  return {
    name: `Agent ${path}`,
    path,
    url,
    protocolVersion: '0.3.0',
    skills: [],
    ...(proxyPassUrl === undefined ? {} : { proxy_pass_url: proxyPassUrl }),
  };
}
