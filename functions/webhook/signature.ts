// The default import: the bundle's node:crypto shim (functions/lib/node/crypto.ts) is the whole module.
import crypto from 'node:crypto';

/**
 * The registry's webhook signature (registry/services/webhook_service.py at 1.29, `_sign_body`):
 * HMAC-SHA256 keyed with the UTF-8 bytes of `REGISTRATION_WEBHOOK_SIGNING_SECRET`, over the exact
 * bytes of the request body, sent as `X-Registry-Signature: sha256=<hex digest>`. Without a secret
 * the registry sends no header at all, which this receiver refuses.
 */
export const SIGNATURE_HEADER = 'x-registry-signature';
export const SIGNATURE_PREFIX = 'sha256=';

/** A SHA-256 digest in hex (the registry's `hexdigest()` is lowercase; either case is read). */
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** The header value the registry sends for `body` under `secret`. */
export function signatureOf(body: Uint8Array, secret: string): string {
  return `${SIGNATURE_PREFIX}${crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex')}`;
}

/**
 * Whether `header` is the registry's signature of `body` under `secret`. The digests are compared
 * in constant time (`timingSafeEqual` over the 32 bytes); only the header's shape is checked first.
 * The reason never quotes the header or the secret.
 */
export function checkSignature(body: Uint8Array, header: string | undefined, secret: string): SignatureCheck {
  if (secret === '') return { ok: false, reason: 'no signing secret is configured' };
  if (header === undefined || header.trim() === '')
    return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  const value = header.trim();
  if (!value.startsWith(SIGNATURE_PREFIX) || !HEX_DIGEST.test(value.slice(SIGNATURE_PREFIX.length)))
    return { ok: false, reason: `malformed ${SIGNATURE_HEADER} header (expected sha256=<64 hex digits>)` };
  const given = Buffer.from(value.slice(SIGNATURE_PREFIX.length), 'hex');
  const expected = crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest();
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected))
    return { ok: false, reason: 'signature does not match the body' };
  return { ok: true };
}
