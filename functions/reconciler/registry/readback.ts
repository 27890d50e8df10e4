/** The read-back right after a write: did it land. */
import type { RegistryEntry } from '../ports';
import type { ClientState } from './state';

/** Whether the read-back shows `newUrl`; a warning when it shows another address. */
export function checkReadBack(
  state: ClientState,
  before: RegistryEntry,
  after: RegistryEntry,
  newUrl: string,
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
  return confirmed;
}
