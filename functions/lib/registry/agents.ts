/**
 * Agents: read `GET /api/agents/{path}`; write by PATCH with the agent's ETag (1.2x), else PUT.
 * Whether the registry has the agent PATCH is learnt once per `AgentApi` (per client, so per
 * Lambda container), from the `ETag` a 1.2x read sends and a 404/405 to a PATCH.
 */
import { EntryNotFoundError, PermanentError, PolicyDeniedError } from '../errors';
import type { CallContext, EntryRef, RegistryEntry, WriteResult, WriteRoute } from '../reconcile/ports';
import type { LoggerLike } from '../telemetry/telemetry';
import type { Presence } from './client';
import {
  asRecord,
  describeRequest,
  detailText,
  encodePath,
  READ_BACK,
  type ReadPhase,
  type RegistryHttp,
  RegistryResponseError,
} from './http';
import {
  AGENT_FIELDS_CHANGING_BY_THEMSELVES,
  agentUpdateBody,
  changedFields,
  PUT_REPLACES_1_2X,
} from './rewrite';
import { checkReadBack, patchEntry, policyRefusal, warnNearMiss } from './servers';

/** The agent routes of one registry, and what the client has learnt about them. */
export class AgentApi {
  /** `PATCH /api/agents/{path}` (1.2x, which also sends an agent `ETag`). */
  private patchRoute: Presence;

  constructor(
    private readonly http: RegistryHttp,
    private readonly logger: LoggerLike,
    /** The PATCH route's presence at the start: as `api` pins it, or unknown. */
    patchRoute: Presence,
  ) {
    this.patchRoute = patchRoute;
  }

  /** Reads one agent. Throws `EntryNotFoundError` when the registry has none at the exact path. */
  async read(ref: EntryRef, ctx: CallContext, phase: ReadPhase): Promise<RegistryEntry> {
    const request = {
      method: 'GET',
      path: `/api/agents${encodePath(ref.path)}`,
      entry: ref,
      ...phase,
    } as const;
    const response = await this.http.send({ ...request, accept: [404] }, ctx);
    if (response.status === 404) throw new EntryNotFoundError('agent', ref.path);
    const record = asRecord(response.body);
    if (record === undefined || typeof record.url !== 'string') {
      throw new RegistryResponseError(
        `${describeRequest(request)}: the answer is not an agent card with a url`,
      );
    }
    if (typeof record.path === 'string' && record.path !== ref.path) {
      warnNearMiss(this.logger, ref, record.path);
      throw new EntryNotFoundError('agent', ref.path);
    }
    if (response.etag !== undefined && this.patchRoute === 'unknown') this.patchRoute = 'present';
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
  async write(entry: RegistryEntry, newUrl: string, ctx: CallContext): Promise<WriteResult | 'conflict'> {
    const field = agentBackendField(entry.record);
    const path = `/api/agents${encodePath(entry.path)}`;
    let route: WriteRoute = 'put';
    let resets: string[] = [];
    if (entry.etag !== undefined && this.patchRoute !== 'absent') {
      const outcome = await patchEntry(this.http, entry, { [field]: newUrl }, newUrl, ctx, path);
      if (outcome === 'conflict') return outcome;
      if (outcome === 'written') route = 'patch';
      else if (outcome === 'absent') this.patchRoute = 'absent';
    }
    if (route === 'put') {
      const json = agentUpdateBody(entry, newUrl);
      if (field === 'proxy_pass_url') {
        json.url = entry.record.url;
        json.proxy_pass_url = newUrl;
      }
      resets = typeof entry.record.id === 'string' ? [...PUT_REPLACES_1_2X] : [];
      const response = await this.http.send(
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
    const after = await this.read(entry, ctx, READ_BACK);
    const confirmed = checkReadBack(this.logger, entry, after, newUrl);
    // Exact: what the read-back shows changed besides the address, plus what the route always replaces.
    const intended = new Set([field, ...AGENT_FIELDS_CHANGING_BY_THEMSELVES]);
    resets = [...new Set([...resets, ...changedFields(entry.record, after.record, intended)])];
    if (resets.length > 0) {
      this.logger.warn('the write reset these fields', { path: entry.path, route, fields: resets });
    }
    return { url: after.url, confirmed, disabledAfterWrite: false, reenabled: false, route, resets };
  }
}

/** Which agent field holds the backend address: `proxy_pass_url` in A2A reverse-proxy mode, else `url`. */
export function agentBackendField(record: Record<string, unknown>): 'url' | 'proxy_pass_url' {
  return typeof record.proxy_pass_url === 'string' && record.proxy_pass_url !== '' ? 'proxy_pass_url' : 'url';
}
