/** Agents: read `GET /api/agents/{path}`; write by PATCH with the agent's ETag (1.2x), else PUT. */
import { EntryNotFoundError, PermanentError, PolicyDeniedError } from '../errors';
import type { CallContext, EntryRef, RegistryEntry, WriteResult, WriteRoute } from '../ports';
import { agentBackendField, changedFields, detailText, encodePath, warnNearMiss } from './answers';
import { describeRequest, RegistryResponseError } from './http';
import { asRecord } from './json';
import { patchEntry } from './patch';
import { policyRefusal } from './policy';
import { checkReadBack } from './readback';
import { agentUpdateBody } from './rewrite';
import { type ClientState, READ_BACK, type ReadPhase } from './state';

/** Fields PUT of an agent always replaces on 1.2x (a new `id`). */
const PUT_REPLACES_1_2X = ['id'];
/** The registry's clock, which every write moves. */
const AGENT_FIELDS_CHANGING_BY_THEMSELVES = ['updated_at', 'updatedAt'];

/** Reads one agent. Throws `EntryNotFoundError` when the registry has none at the exact path. */
export async function readAgent(
  state: ClientState,
  ref: EntryRef,
  ctx: CallContext,
  phase: ReadPhase,
): Promise<RegistryEntry> {
  const request = {
    method: 'GET',
    path: `/api/agents${encodePath(ref.path)}`,
    entry: ref,
    ...phase,
  } as const;
  const response = await state.http.send({ ...request, accept: [404] }, ctx);
  if (response.status === 404) throw new EntryNotFoundError('agent', ref.path);
  const record = asRecord(response.body);
  if (record === undefined || typeof record.url !== 'string') {
    throw new RegistryResponseError(
      `${describeRequest(request)}: the answer is not an agent card with a url`,
    );
  }
  if (typeof record.path === 'string' && record.path !== ref.path) {
    warnNearMiss(state, ref, record.path);
    throw new EntryNotFoundError('agent', ref.path);
  }
  if (response.etag !== undefined && state.routes.agentPatch === 'unknown')
    state.routes.agentPatch = 'present';
  // A2A reverse-proxy mode (1.27+): `url` is the gateway's; the backend address is `proxy_pass_url`.
  const backend = agentBackendField(record);
  return {
    kind: 'agent',
    path: ref.path,
    url: record[backend] as string,
    record,
    ...(response.etag === undefined ? {} : { etag: response.etag }),
  };
}

/** Writes the agent's backend address, then reads it back; `conflict` on a 412. */
export async function writeAgent(
  state: ClientState,
  entry: RegistryEntry,
  newUrl: string,
  ctx: CallContext,
): Promise<WriteResult | 'conflict'> {
  const field = agentBackendField(entry.record);
  const path = `/api/agents${encodePath(entry.path)}`;
  let route: WriteRoute = 'put';
  let resets: string[] = [];
  if (entry.etag !== undefined && state.routes.agentPatch !== 'absent') {
    const outcome = await patchEntry(state, entry, { [field]: newUrl }, newUrl, ctx, path);
    if (outcome === 'conflict') return outcome;
    if (outcome === 'written') route = 'patch';
    else if (outcome === 'absent') state.routes.agentPatch = 'absent';
  }
  if (route === 'put') {
    const json = agentUpdateBody(entry, newUrl);
    if (field === 'proxy_pass_url') {
      json.url = entry.record.url;
      json.proxy_pass_url = newUrl;
    }
    resets = typeof entry.record.id === 'string' ? [...PUT_REPLACES_1_2X] : [];
    const response = await state.http.send(
      { method: 'PUT', path, json, api: 'registry.write', entry, action: 'write', accept: [400, 404] },
      ctx,
    );
    if (response.status === 404) throw new EntryNotFoundError('agent', entry.path);
    if (response.status === 400) {
      const refusal = policyRefusal(response.body);
      if (refusal !== undefined) throw new PolicyDeniedError('agent', entry.path, newUrl, refusal);
      throw new PermanentError(
        `registry write of agent ${entry.path} (PUT ${path}): HTTP 400 (${detailText(response)})`,
      );
    }
  }
  const after = await readAgent(state, entry, ctx, READ_BACK);
  const confirmed = checkReadBack(state, entry, after, newUrl);
  // Exact: what the read-back shows changed besides the address, plus what the route always replaces.
  const intended = new Set([field, ...AGENT_FIELDS_CHANGING_BY_THEMSELVES]);
  resets = [...new Set([...resets, ...changedFields(entry.record, after.record, intended)])];
  if (resets.length > 0) {
    state.logger.warn('the write reset these fields', { path: entry.path, route, fields: resets });
  }
  return { url: after.url, confirmed, disabledAfterWrite: false, reenabled: false, route, resets };
}
