/** One compare-and-swap PATCH (1.2x) and what its answer means. */
import { EntryNotFoundError, PermanentError, PolicyDeniedError } from '../errors';
import type { CallContext, RegistryEntry } from '../ports';
import { detailText, isRouteMissing } from './answers';
import { describeRequest, type RegistryRequest, RegistryUnavailableError } from './http';
import { policyRefusal } from './policy';
import type { ClientState } from './state';

/**
 * What a PATCH did: `written`; `conflict` (412); `absent` (the route does not exist); `unsaved`
 * (1.2x's 500 "Failed to save server").
 */
export type PatchOutcome = 'written' | 'conflict' | 'absent' | 'unsaved';

/** PATCHes `json` onto the entry with its tag in `If-Match`. Throws `PolicyDeniedError` on the policy's 400. */
export async function patchEntry(
  state: ClientState,
  entry: RegistryEntry,
  json: Record<string, unknown>,
  newUrl: string,
  ctx: CallContext,
  path: string,
): Promise<PatchOutcome> {
  const request: RegistryRequest = {
    method: 'PATCH',
    path,
    json,
    api: 'registry.write',
    entry,
    action: 'write',
    headers: entry.etag === undefined ? {} : { 'if-match': entry.etag },
    accept: [400, 404, 405, 412, 500],
    // A lost answer to a retried PATCH comes back as 412 and is re-decided: safe, but rarely worth it.
    maxAttempts: 2,
  };
  const response = await state.http.send(request, ctx);
  if (response.status >= 200 && response.status < 300) return 'written';
  if (response.status === 412) return 'conflict';
  if (response.status === 405 || (response.status === 404 && isRouteMissing(response))) return 'absent';
  const refusal = policyRefusal(response.body);
  if (response.status === 400 && refusal !== undefined) {
    throw new PolicyDeniedError(entry.kind, entry.path, newUrl, refusal);
  }
  if (response.status === 500 && detailText(response) === 'Failed to save server') return 'unsaved';
  if (response.status === 404) throw new EntryNotFoundError(entry.kind, entry.path);
  if (response.status === 500) {
    throw new RegistryUnavailableError(`${describeRequest(request)}: HTTP 500 (${detailText(response)})`, {
      status: 500,
    });
  }
  throw new PermanentError(`${describeRequest(request)}: HTTP ${response.status} (${detailText(response)})`);
}
