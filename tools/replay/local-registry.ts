import type { ReconcilerConfig } from '../../functions/reconciler/config';
import type { EmbeddedOptions } from './environment';

/** Placeholder until the local registry server lands: undefined keeps the in-memory registry. */
export function localRegistryFactory(_config: ReconcilerConfig): EmbeddedOptions['registry'] {
  return undefined;
}
