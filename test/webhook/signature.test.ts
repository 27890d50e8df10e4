/** The registry's webhook signature, checked with a real HMAC-SHA256 computed here. */
import { createHmac } from 'node:crypto';
import { checkSignature, signatureOf } from '../../functions/webhook/signature';

const SECRET = 'a-shared-signing-secret';
const BODY = Buffer.from(
  JSON.stringify({ event_type: 'registration', registration_type: 'server', card: { path: '/weather/' } }),
);
/** What the registry sends (webhook_service.py `_sign_body`): `sha256=` + the hex HMAC-SHA256 of the body bytes. */
const registrySignature = (body: Uint8Array, secret: string) =>
  `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex')}`;

describe('checkSignature', () => {
  it('accepts the registry signature of the exact body', () => {
    expect(checkSignature(BODY, registrySignature(BODY, SECRET), SECRET)).toEqual({ ok: true });
    expect(signatureOf(BODY, SECRET)).toBe(registrySignature(BODY, SECRET));
  });

  it('accepts the digest in upper case hex too', () => {
    const hex = registrySignature(BODY, SECRET).slice('sha256='.length).toUpperCase();
    expect(checkSignature(BODY, `sha256=${hex}`, SECRET)).toEqual({ ok: true });
  });

  it('refuses a tampered body (one byte changed)', () => {
    const tampered = Buffer.from(BODY);
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 1;
    expect(checkSignature(tampered, registrySignature(BODY, SECRET), SECRET)).toEqual({
      ok: false,
      reason: 'signature does not match the body',
    });
  });

  it('refuses a body re-serialized differently (the signature covers the bytes, not the JSON value)', () => {
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 1));
    expect(checkSignature(reserialized, registrySignature(BODY, SECRET), SECRET).ok).toBe(false);
  });

  it('refuses a signature made with another secret', () => {
    expect(checkSignature(BODY, registrySignature(BODY, 'another-secret'), SECRET).ok).toBe(false);
  });

  it.each([
    ['a missing header', undefined, 'missing x-registry-signature header'],
    ['an empty header', '', 'missing x-registry-signature header'],
    ['a digest without the sha256= prefix', registrySignature(BODY, SECRET).slice(7), 'malformed'],
    ['another algorithm name', registrySignature(BODY, SECRET).replace('sha256=', 'sha1='), 'malformed'],
    [
      'base64 instead of hex',
      `sha256=${createHmac('sha256', SECRET).update(BODY).digest('base64')}`,
      'malformed',
    ],
    ['a truncated digest', registrySignature(BODY, SECRET).slice(0, -2), 'malformed'],
  ])('refuses %s', (_what, header, reason) => {
    const check = checkSignature(BODY, header, SECRET);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.reason).toContain(reason);
  });

  it('refuses everything when no secret is configured, even a signature made with the empty key', () => {
    expect(checkSignature(BODY, registrySignature(BODY, ''), '').ok).toBe(false);
  });

  it('never quotes the header or the secret in its reason', () => {
    const header = registrySignature(BODY, 'another-secret');
    const check = checkSignature(BODY, header, SECRET);
    const reason = check.ok ? '' : check.reason;
    expect(reason).not.toContain(header.slice(7, 20));
    expect(reason).not.toContain(SECRET);
  });
});
