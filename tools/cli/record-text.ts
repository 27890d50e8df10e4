import type { DecisionRecord, InstanceView } from '../../functions/lib/telemetry/record';

/**
 * What a decision record says beyond its action and reason, in words, for the text output of
 * replay and plan: everything the JSON shows that an operator must see (the write's route and
 * what it reset, a server the registry's scan disabled, `security-pending`, instances Cloud Map
 * lists that ECS does not vouch for). Fields other versions of the record may lack are read
 * defensively.
 */

/** Instances Cloud Map lists under the target that ECS does not vouch for (never written). */
export function untrusted(r: Pick<DecisionRecord, 'instances'>): InstanceView[] {
  return (r.instances ?? []).filter(
    (v) => v.ineligible === 'ip-mismatch' || v.ineligible === 'other-service',
  );
}

/** One untrusted instance and why: `1a2b3c4d other-service`, `1a2b3c4d ip-mismatch (10.0.0.9, ECS 10.0.0.8)`. */
export function untrustedText(v: InstanceView): string {
  const id = v.instanceId.slice(0, 12);
  if (v.ineligible === 'ip-mismatch')
    return `${id} ip-mismatch (Cloud Map ${v.ipv4 ?? 'no IP'}, ECS ${v.ecsIpv4 ?? 'no IP'})`;
  return `${id} ${v.ineligible ?? 'untrusted'}${v.ipv4 === undefined ? '' : ` (${v.ipv4})`}`;
}

/** The record's log level as the reconciler logs it: ERROR for an error or a server disabled after the write. */
export function isErrorLevel(r: DecisionRecord): boolean {
  return r.action === 'error' || r.write?.disabledAfterWrite === true;
}

/** Whether the registry's scan disabled the server after the write. */
export function disabledAfterWrite(r: DecisionRecord): boolean {
  return r.write?.disabledAfterWrite === true;
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Tools the registry's scan blocked on a server it left enabled, wherever the record names them. */
function blockedTools(r: DecisionRecord): string[] {
  const loose = r as unknown as Record<string, unknown>;
  const verification = (loose.verification ?? {}) as Record<string, unknown>;
  const write = (r.write ?? {}) as unknown as Record<string, unknown>;
  return [
    ...new Set([
      ...list(loose.blockedTools),
      ...list(verification.blockedTools),
      ...list(write.blockedTools),
    ]),
  ];
}

/**
 * The record's flags, each a short phrase: `route register`, `resets id, registered_by`,
 * `may have reset headers, visibility`, `DISABLED by the registry's scan after the write`,
 * `security-pending`, `untrusted: …`. Empty when there is nothing to add.
 */
export function recordFlags(r: DecisionRecord): string[] {
  const flags: string[] = [];
  const w = r.write;
  if (w !== undefined) {
    if (w.route !== undefined && w.route !== 'none') flags.push(`route ${w.route}`);
    const resets = list(w.resets);
    if (resets.length > 0) flags.push(`resets ${resets.join(', ')}`);
    if (w.superseded) flags.push('superseded (the entry changed; decided again)');
    if (w.disabledAfterWrite) {
      flags.push(
        w.reenabled
          ? "disabled by the registry's scan after the write, re-enabled"
          : "DISABLED by the registry's scan after the write",
      );
    }
  }
  const mayReset = list((r as { mayReset?: unknown }).mayReset);
  if (mayReset.length > 0)
    flags.push(`${r.write === undefined ? 'the write may reset' : 'may have reset'} ${mayReset.join(', ')}`);
  if (r.securityPending) flags.push("security-pending (the registry's scan disabled the server)");
  const blocked = blockedTools(r);
  if (blocked.length > 0) flags.push(`tools blocked by the scan: ${blocked.join(', ')}`);
  const rogue = untrusted(r);
  if (rogue.length > 0) flags.push(`untrusted: ${rogue.map(untrustedText).join('; ')}`);
  return flags;
}

/** What the summaries of replay and plan count from the records, beside the decisions. */
/** The order actions are counted in a summary line. */
const ACTION_ORDER = ['update', 'skip', 'noop', 'defer', 'error'];

export class RecordCounts {
  readonly actions: Record<string, number> = {};
  decisions = 0;
  /** Real writes (not dry run). */
  writes = 0;
  errors = 0;
  /** Writes after which the registry's scan disabled the server (ERROR level). */
  disabled = 0;
  private readonly pending = new Set<string>();
  private readonly rogue = new Set<string>();

  add(r: DecisionRecord): void {
    this.decisions++;
    this.actions[r.action] = (this.actions[r.action] ?? 0) + 1;
    if (r.action === 'update' && !r.dryRun) this.writes++;
    if (r.action === 'error') this.errors++;
    if (disabledAfterWrite(r) && r.write?.reenabled !== true) this.disabled++;
    const entry = `${r.target.kind} ${r.target.path}`;
    if (r.securityPending) this.pending.add(entry);
    for (const v of untrusted(r)) this.rogue.add(`${entry} ${v.instanceId}`);
  }

  /** Entries seen `security-pending` (each once). */
  get securityPending(): number {
    return this.pending.size;
  }

  /** Untrusted Cloud Map instances (each target's once). */
  get untrusted(): number {
    return this.rogue.size;
  }

  /** `update 2, noop 3` */
  actionText(): string {
    // One order whatever order the decisions came in (the deployed path's order is the queues').
    const rank = (a: string) => {
      const at = ACTION_ORDER.indexOf(a);
      return at === -1 ? ACTION_ORDER.length : at;
    };
    return Object.entries(this.actions)
      .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
      .map(([a, n]) => `${a} ${n}`)
      .join(', ');
  }

  /** `0 disabled after a write, 1 security-pending, 2 untrusted instance(s), 0 error(s)` */
  healthText(): string {
    return [
      `${this.disabled} disabled after a write`,
      `${this.securityPending} security-pending`,
      `${this.untrusted} untrusted instance(s)`,
      `${this.errors} error(s)`,
    ].join(', ');
  }
}
