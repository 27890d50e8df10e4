import type { TargetConfig } from '../config/config';

/** Plans, pointers and the services found serving an entry are kept per registry entry, by this key. */
export function targetKey(target: Pick<TargetConfig, 'kind' | 'path'>): string {
  return `${target.kind} ${target.path}`;
}
