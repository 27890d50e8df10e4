/**
 * The 1.29 registry's URL security policy (`registry/utils/url_guard.py`, since 1.26), as far as
 * writes see it: a URL whose host is a literal private, loopback, link-local or CGNAT IP is refused
 * unless an `SSRF_ALLOWED_CIDRS` range or an `SSRF_ALLOWED_HOSTS` name covers it. Hostnames pass at
 * write time (the registry checks their answers when it health-checks).
 */
import { isIP } from 'node:net';

/** The allow-lists (`SSRF_ALLOWED_CIDRS`, `SSRF_ALLOWED_HOSTS`); both empty by default, as deployed. */
export interface UrlPolicy {
  allowedCidrs: string[];
  allowedHosts: string[];
}

const BLOCKED_V4: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
];

/** Throws on a malformed CIDR, so a bad `--allow-cidr` fails at start. */
export function parseCidr(cidr: string): [number, number] {
  const [base, bits] = cidr.split('/');
  const prefix = bits === undefined ? 32 : Number(bits);
  if (base === undefined || isIP(base) !== 4 || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw new Error(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  }
  return [toInt(base), prefix];
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function inRange(ip: number, [base, prefix]: [number, number]): boolean {
  if (prefix === 0) return true;
  const size = 2 ** (32 - prefix);
  return Math.floor(ip / size) === Math.floor(base / size);
}

/** The refusal reason (`targets blocked/private IP 10.0.1.9`), or undefined when the URL may be stored. */
export function policyDenial(url: unknown, policy: UrlPolicy): string | undefined {
  if (typeof url !== 'string') return undefined;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return 'could not be parsed';
  }
  if (policy.allowedHosts.map((h) => h.toLowerCase()).includes(host.toLowerCase())) return undefined;
  if (isIP(host) === 6) {
    const h = host.toLowerCase();
    return h === '::1' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80')
      ? `targets blocked/private IP ${host}`
      : undefined;
  }
  if (isIP(host) !== 4) return undefined;
  const ip = toInt(host);
  if (!BLOCKED_V4.some(([base, prefix]) => inRange(ip, [toInt(base), prefix]))) return undefined;
  if (policy.allowedCidrs.some((cidr) => inRange(ip, parseCidr(cidr)))) return undefined;
  return `targets blocked/private IP ${host}`;
}
