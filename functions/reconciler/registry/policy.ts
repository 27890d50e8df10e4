/**
 * The registry's URL security policy (1.26+, `registry/utils/url_guard.py`): an address whose host
 * is a literal private or loopback IP is refused unless `SSRF_ALLOWED_CIDRS` / `SSRF_ALLOWED_HOSTS`
 * cover it. PATCH and PUT say so in a 400; register wraps the refusal in a bare 500.
 */
import { isIP } from 'node:net';
import { splitUrl } from '../core/url';

/** The words of the policy's 400 (`URL rejected by security policy: targets blocked/private IP 10.0.1.9`). */
export const POLICY_REFUSAL_PREFIX = 'URL rejected by security policy';
/** Register's answer when the policy (or anything else) failed inside it. */
export const REGISTER_FAILED_DETAIL = 'Service registration failed';

/** Whether the policy would block this address by default: its host is a private, loopback or link-local IP literal. */
export function policyBlocksByDefault(url: string): boolean {
  const host = splitUrl(url)
    ?.host.replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (host === undefined) return false;
  if (isIP(host) === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (isIP(host) === 6) {
    const h = host.toLowerCase();
    return h === '::1' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80');
  }
  return false;
}

/** The registry's `detail` when it is the policy's refusal. */
export function policyRefusal(body: unknown): string | undefined {
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' && detail.startsWith(POLICY_REFUSAL_PREFIX) ? detail : undefined;
}
