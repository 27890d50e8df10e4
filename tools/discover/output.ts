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
 * The CDK parameters file (infra/params.example.json's shape) for the same values. A static token
 * is an environment variable for the reconciler but a Secrets Manager secret for the stack, so
 * that one value cannot be carried over: it is left as a marked placeholder and named in `notes`.
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
    notes.push('auth.tokenSecret: set the ARN of the secret that holds the registry token');
  }
  notes.push(
    'network: add vpcId and subnetIds (the ones the registry tasks use) if the function must run in the VPC',
  );
  const params: Record<string, unknown> = {
    cluster: partial.cluster,
    namespace: partial.namespace,
    ...(partial.registryService === undefined ? {} : { registryService: partial.registryService }),
    registryUrl: registry.url,
    auth,
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
