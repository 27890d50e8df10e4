/** The verification some time after a write, when the registry's background scan has had its say. */
import type { CallContext, EntryRef, RegistryEntry, WriteVerification } from '../ports';
import { readAgent } from './agent';
import { readServer } from './server-read';
import { type ClientState, VERIFY } from './state';

/**
 * Reads the entry again (some time after a write: the registry scans in the background) and says
 * whether the scan disabled it (`security-pending`) or a late scan wrote an older address back.
 * Never re-enables and never writes.
 */
export async function verifyWrite(
  state: ClientState,
  ref: EntryRef,
  written: string,
  ctx: CallContext,
): Promise<WriteVerification> {
  const entry =
    ref.kind === 'server'
      ? await readServer(state, ref, ctx, VERIFY)
      : await readAgent(state, ref, ctx, VERIFY);
  const verification = verificationOf(entry, written);
  if (verification.disabled || verification.addressWrittenBack || verification.blockedTools !== undefined) {
    state.logger.warn('the entry changed after our write settled', {
      kind: ref.kind,
      path: ref.path,
      written,
      now: entry.url,
      disabled: verification.disabled,
      securityPending: verification.disabledSecurityPending,
      ...(verification.blockedTools === undefined ? {} : { blockedTools: verification.blockedTools }),
    });
  }
  return verification;
}

/** What an entry read after our write of `written` says about that write. */
export function verificationOf(entry: RegistryEntry, written: string): WriteVerification {
  const disabled = entry.enabled === false;
  const blocked = entry.kind === 'server' ? blockedToolsOf(entry.record) : [];
  return {
    url: entry.url,
    confirmed: entry.url === written,
    disabledSecurityPending: disabled && entry.securityPending === true,
    disabled,
    addressWrittenBack: entry.url !== written,
    entry,
    ...(blocked.length > 0 ? { blockedTools: blocked } : {}),
  };
}

/**
 * The tools the registry blocks on a server (1.31+: with `SECURITY_ALLOW_UNSAFE_SERVERS` the scan
 * blocks the flagged tools and leaves the server enabled; `POST /api/servers/toggle-tool/{path}`):
 * named in a `blocked_tools` / `disabled_tools` list (names or `{name}` objects), or marked in
 * `tool_list` (`blocked: true`, `enabled: false`, `is_enabled: false`). Sorted, each once.
 */
export function blockedToolsOf(record: Record<string, unknown>): string[] {
  const names = new Set<string>();
  const nameOf = (item: unknown): string | undefined => {
    if (typeof item === 'string') return item;
    const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? name : undefined;
  };
  for (const field of ['blocked_tools', 'disabled_tools']) {
    const list = record[field];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      const name = nameOf(item);
      if (name !== undefined && name !== '') names.add(name);
    }
  }
  const tools = record.tool_list;
  if (Array.isArray(tools)) {
    for (const tool of tools) {
      if (typeof tool !== 'object' || tool === null) continue;
      const t = tool as { blocked?: unknown; enabled?: unknown; is_enabled?: unknown };
      const name = nameOf(tool);
      if (name !== undefined && (t.blocked === true || t.enabled === false || t.is_enabled === false))
        names.add(name);
    }
  }
  return [...names].sort();
}
