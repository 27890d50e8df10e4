import { isIPv4, normalizeHost } from './url';

/**
 * The one rule that says whether a configured target's registry entry is the reconciler's to
 * rewrite, from the entry's host alone. The reconciler (decide.ts, reconcile/reconcile.ts) and
 * discover (tools/discover/match.ts) both ask it, so they never disagree about an entry.
 *
 * A stronger rule may sit in front of it: a record of which entries the reconciler itself wrote
 * (an ownership table) answers first where it is configured, and this rule decides wherever that
 * one has no answer. It takes plain data and does no I/O.
 */

/** What makes a host the target's, or `foreign` when nothing does. */
export type OwnershipBasis =
  /** The target's Cloud Map service name (`currenttime-server`), as the stack registers it. */
  | 'cloud-map-name'
  /** `<name>.<namespace>` (`currenttime-server.mcp-gateway.local`). */
  | 'cloud-map-fqdn'
  /** An IPv4 address one of the target's Cloud Map instances lists now. */
  | 'listed-ip'
  /**
   * A private IPv4 (RFC 1918 or the CGNAT range 100.64.0.0/10) that Cloud Map does not list: the
   * address of a task that was replaced (an entry set by hand, or pointed at a task since gone).
   */
  | 'stale-private-ip'
  /** Anything else: a public IPv4 no instance lists, another name, an IPv6 literal. Never rewritten. */
  | 'foreign';

/** Everything the rule looks at. */
export interface OwnershipQuestion {
  /** The host of the entry's current address, as written (any case, trailing dot allowed). */
  host: string;
  /** The target's Cloud Map service. */
  cloudMapService: string;
  /** The Cloud Map namespace. */
  namespace: string;
  /**
   * The IPv4 addresses the target's Cloud Map instances list now (any health). Only needed to own a
   * public IPv4: names and private IPv4s are decided without them.
   */
  listedIpv4s: readonly string[];
}

export interface Ownership {
  owned: boolean;
  basis: OwnershipBasis;
  /** One sentence an operator can act on. */
  detail: string;
}

/** Whether `host` (a dotted quad) is in 10/8, 172.16/12, 192.168/16 or 100.64/10. */
export function isPrivateIPv4(host: string): boolean {
  const h = normalizeHost(host);
  if (!isIPv4(h)) return false;
  const [a = -1, b = -1] = h.split('.').map(Number);
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

/**
 * The ownership of one entry's host for one target. In order: the target's Cloud Map name forms;
 * an IPv4 Cloud Map lists now for it; a private IPv4 (the stale address of a replaced task); else
 * `foreign`.
 */
export function ownership(q: OwnershipQuestion): Ownership {
  const host = normalizeHost(q.host);
  const name = normalizeHost(q.cloudMapService);
  const fqdn = `${name}.${normalizeHost(q.namespace)}`;
  if (host !== '' && host === name)
    return { owned: true, basis: 'cloud-map-name', detail: `${host} is the Cloud Map name of the target` };
  if (host !== '' && host === fqdn)
    return {
      owned: true,
      basis: 'cloud-map-fqdn',
      detail: `${host} is the target's Cloud Map name in ${q.namespace}`,
    };
  if (isIPv4(host)) {
    if (q.listedIpv4s.some((ip) => normalizeHost(ip) === host))
      return {
        owned: true,
        basis: 'listed-ip',
        detail: `${host} is listed by Cloud Map service ${q.cloudMapService}`,
      };
    if (isPrivateIPv4(host))
      return {
        owned: true,
        basis: 'stale-private-ip',
        detail: `${host} is a private IPv4 Cloud Map does not list: the address of a replaced task`,
      };
    return {
      owned: false,
      basis: 'foreign',
      detail: `${host} is a public IPv4 that no instance of ${q.cloudMapService} lists: not a task address, never rewritten`,
    };
  }
  return {
    owned: false,
    basis: 'foreign',
    detail: `host ${host || '(empty)'} is not ${q.cloudMapService}, ${fqdn} or a task's IPv4: never rewritten`,
  };
}

/**
 * Whether the rule can settle `host` without Cloud Map's list: names and private IPv4s are decided
 * by their form; only a public IPv4 needs the target's listed addresses.
 */
export function needsListedIpv4s(host: string): boolean {
  const h = normalizeHost(host);
  return isIPv4(h) && !isPrivateIPv4(h);
}
