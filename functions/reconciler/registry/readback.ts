/** The read-back right after a write: did it land, and what else did the registry change. */
import type { RegistryEntry } from '../ports';
import { changedFields } from './answers';
import type { ClientState } from './state';

/** Whether the read-back shows `newUrl`; logs fields the registry changed that we did not. */
export function checkReadBack(
  state: ClientState,
  before: RegistryEntry,
  after: RegistryEntry,
  newUrl: string,
  expectedToChange: ReadonlySet<string>,
): boolean {
  const confirmed = after.url === newUrl;
  if (!confirmed) {
    state.logger.warn('read-back shows another address than the one written', {
      kind: before.kind,
      path: before.path,
      written: newUrl,
      readBack: after.url,
    });
  }
  const changed = changedFields(before.record, after.record, expectedToChange);
  if (changed.length > 0) {
    // Names only: values may be large, and the caller has the records.
    state.logger.warn('registry changed fields besides the address on rewrite', {
      kind: before.kind,
      path: before.path,
      fields: changed,
    });
  }
  return confirmed;
}
