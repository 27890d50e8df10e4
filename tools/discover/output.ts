import type { EntryMatch } from './match';
import type { ListedEntry } from './registry-list';

/** The targets discover found, in the configuration's format. */
export function targetsOf(matches: EntryMatch[]) {
  return matches
    .filter((m) => m.status === 'matched')
    .sort((a, b) => (a.kind === b.kind ? a.path.localeCompare(b.path) : a.kind === 'server' ? -1 : 1))
    .map((m) => ({
      kind: m.kind,
      path: m.path,
      cloudMapService: m.cloudMapService as string,
      ecsService: m.ecsService as string,
    }));
}

/** The reconciler configuration: the partial one as given, with the targets found. */
export function configDocument(partial: Record<string, unknown>, matches: EntryMatch[]) {
  const { targets: _ignored, ...rest } = partial;
  return { ...rest, targets: targetsOf(matches) };
}

/**
 * The CDK parameters file (infra/params.example.json's shape): the same configuration document,
 * with a static token's secret to fill in (the stack reads the token from Secrets Manager into
 * the variable the reconciler reads), named in `notes`.
 */
export function paramsDocument(
  partial: Record<string, unknown>,
  matches: EntryMatch[],
): { params: Record<string, unknown>; notes: string[] } {
  const registry = (partial.registry ?? {}) as { url?: string; auth?: Record<string, unknown> };
  const notes: string[] = [];
  let auth: Record<string, unknown>;
  if (registry.auth?.type === 'keycloak') {
    auth = { type: 'keycloak', tokenUrl: registry.auth.tokenUrl, secretArn: registry.auth.secretArn };
  } else {
    auth = {
      type: 'static',
      tokenSecret: 'EXAMPLE: the ARN of the Secrets Manager secret holding the registry token',
    };
    notes.push('registry.auth.tokenSecret: set the ARN of the secret that holds the registry token');
  }
  notes.push(
    'network: add vpcId and subnetIds (the ones the registry tasks use) if the function must run in the VPC',
  );
  const params: Record<string, unknown> = {
    cluster: partial.cluster,
    namespace: partial.namespace,
    ...(partial.registryService === undefined ? {} : { registryService: partial.registryService }),
    registry: { ...registry, auth },
    targets: targetsOf(matches),
    dryRun: true,
  };
  return { params, notes };
}

/** An entry's state in the registry, when it is not simply enabled: `disabled`, `security-pending`. */
function stateOf(m: EntryMatch, entries: ListedEntry[]): string {
  const e = entries.find((x) => x.kind === m.kind && x.path === m.path);
  if (e?.securityPending) return ' [security-pending]';
  if (e?.disabled) return ' [disabled]';
  return '';
}

/**
 * The stderr table: every registry entry and why it was or was not matched, with the registry's
 * own state of the entry (`disabled`, `security-pending`) when `entries` gives it.
 */
export function matchTable(matches: EntryMatch[], entries: ListedEntry[] = []): string {
  const rows = matches.map((m) => [
    m.status === 'matched' ? '✓' : '·',
    `${m.kind} ${m.path}`,
    m.url ?? '(unread)',
    `${m.status}${stateOf(m, entries)}`,
    m.detail,
  ]);
  const head = ['', 'entry', 'address', 'result', 'why'];
  const widths = head.map((h, i) =>
    Math.min(48, Math.max(h.length, ...rows.map((r) => (r[i] as string).length))),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** What the summary counts. */
export interface DiscoverCounts {
  entries: ListedEntry[];
  matches: EntryMatch[];
  cloudMapServices: number;
  ecsServices: number;
  /** Registry lists that looked endless. */
  endless: number;
}

/**
 * discover's last line: the registry entries and their states, the account's services, the
 * targets found, the entries holding a private IP no service lists now (`unmatched-ip`: a replaced
 * task's address, rewritten once the entry is a target), the unreadable entries and endless lists.
 */
export function summaryLine(c: DiscoverCounts): string {
  const count = (status: EntryMatch['status']) => c.matches.filter((m) => m.status === status).length;
  const disabled = c.entries.filter((e) => e.disabled && !e.securityPending).length;
  const pending = c.entries.filter((e) => e.securityPending).length;
  const unmatchedIp = count('unmatched-ip');
  return (
    `${c.entries.length} registry entries (${disabled} disabled, ${pending} security-pending), ` +
    `${c.cloudMapServices} Cloud Map services, ${c.ecsServices} ECS services: ` +
    `${count('matched')} target(s) found, ${unmatchedIp} unmatched-ip` +
    `${unmatchedIp > 0 ? ' (add each as a target to have it rewritten; see its row)' : ''}; ` +
    `${count('unreadable')} unreadable, ${c.endless} list(s) looking endless`
  );
}
