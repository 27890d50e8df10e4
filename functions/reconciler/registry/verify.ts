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
  if (verification.disabled || verification.addressWrittenBack) {
    state.logger.warn('the entry changed after our write settled', {
      kind: ref.kind,
      path: ref.path,
      written,
      now: entry.url,
      disabled: verification.disabled,
      securityPending: verification.disabledSecurityPending,
    });
  }
  return verification;
}

/** What an entry read after our write of `written` says about that write. */
export function verificationOf(entry: RegistryEntry, written: string): WriteVerification {
  const disabled = entry.enabled === false;
  return {
    url: entry.url,
    confirmed: entry.url === written,
    disabledSecurityPending: disabled && entry.securityPending === true,
    disabled,
    addressWrittenBack: entry.url !== written,
    entry,
  };
}
