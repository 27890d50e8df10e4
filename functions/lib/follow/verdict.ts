import { ownership } from '../core/ownership';
import { isIPv4, normalizeHost, splitUrl } from '../core/url';
import type { OwnerRow } from './ownership';

/**
 * Whose an adopted entry is, as a pure function of its address and its ownership row. Configured
 * targets never come here: their rules are the configuration's. No I/O, no clock.
 *
 * - The entry names its Cloud Map service (short name or `<name>.<namespace>`): ours to resolve
 *   (`adopt`), whatever a row says (a name registered again is adopted again).
 * - It holds an IPv4: ours only if the row says we wrote exactly that address (`owned`); with no
 *   row, `not-owned` (a hand-set address); with a row for another address, someone changed it
 *   since our write: `released` (the row goes, the entry is theirs).
 * - Any other host: `released` when a row exists, else `foreign`.
 */
export type OwnershipVerdict =
  | { verdict: 'adopt'; detail: string }
  | { verdict: 'owned'; detail: string }
  | { verdict: 'not-owned'; detail: string }
  | { verdict: 'released'; detail: string }
  | { verdict: 'foreign'; detail: string };

export interface VerdictInput {
  currentUrl: string;
  cloudMapService: string;
  namespace: string;
  row: Pick<OwnerRow, 'writtenUrl' | 'previousUrl'> | undefined;
}

export function ownershipVerdict(input: VerdictInput): OwnershipVerdict {
  const host = normalizeHost(splitUrl(input.currentUrl)?.host ?? '');
  const { row } = input;
  const byName = ownership({
    host,
    cloudMapService: input.cloudMapService,
    namespace: input.namespace,
    listedIpv4s: [],
  }).basis;
  if (byName === 'cloud-map-name' || byName === 'cloud-map-fqdn')
    return { verdict: 'adopt', detail: `host ${host} names Cloud Map service ${input.cloudMapService}` };
  const ours =
    row !== undefined && (row.writtenUrl === input.currentUrl || row.previousUrl === input.currentUrl);
  if (ours) return { verdict: 'owned', detail: `the ownership row says we wrote ${input.currentUrl}` };
  if (row !== undefined)
    return {
      verdict: 'released',
      detail: `${input.currentUrl} is not the address we wrote (${row.writtenUrl}): someone changed the entry; ownership released`,
    };
  if (isIPv4(host))
    return {
      verdict: 'not-owned',
      detail: `${host} was not written by the reconciler (no ownership row): left alone`,
    };
  return {
    verdict: 'foreign',
    detail: `host ${host || '(none)'} is not ${input.cloudMapService}[.${input.namespace}]: not ours`,
  };
}
