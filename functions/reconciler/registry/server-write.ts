/**
 * Writing a server: PATCH with the tag where the registry has it and can apply it (1.2x), else
 * register-overwrite re-sending every field; then the read-back, and the re-enable when opted in.
 */
import type { HostForms } from '../core/url';
import { PermanentError, PolicyDeniedError } from '../errors';
import type { CallContext, RegistryEntry, WriteResult, WriteRoute } from '../ports';
import { encodePath, isCurrentGeneration } from './answers';
import { RegistryUnavailableError } from './http';
import { patchEntry } from './patch';
import { policyBlocksByDefault, REGISTER_FAILED_DETAIL } from './policy';
import { checkReadBack } from './readback';
import { fieldsResetByRewrite, followedEndpoints, serverRegistrationForm } from './rewrite';
import { readServer, scanServerList } from './server-read';
import { type ClientState, READ, READ_BACK, SECURITY_PENDING_TAG } from './state';

/** Fields a register-overwrite on 1.2x always resets, whatever is sent. */
const REGISTER_RESETS_1_2X = ['id', 'registered_by'];

/** Server fields a rewrite changes on purpose, or the registry changes by itself on every write. */
const SERVER_FIELDS_EXPECTED_TO_CHANGE = [
  'proxy_pass_url',
  'mcp_endpoint',
  'sse_endpoint',
  'is_enabled',
  'health_status',
  'last_checked_iso',
  'updated_at',
  // Lists every version with its proxy_pass_url.
  'versions',
  // Re-sent from the list's stored count (register-overwrite) or untouched (PATCH).
  'num_tools',
  'tool_list',
];

/** Writes the server's address by the best route, then reads it back; `conflict` on a 412. */
export async function writeServer(
  state: ClientState,
  entry: RegistryEntry,
  newUrl: string,
  ctx: CallContext,
  hostForms: HostForms | undefined,
): Promise<WriteResult | 'conflict'> {
  if (serverRoute(state, entry) === 'patch') {
    const patch: Record<string, unknown> = { proxy_pass_url: newUrl };
    for (const e of followedEndpoints(entry.record, entry.url, newUrl, hostForms))
      if (e.after !== e.before) patch[e.field] = e.after;
    const outcome = await patchEntry(
      state,
      entry,
      patch,
      newUrl,
      ctx,
      `/api/servers${encodePath(entry.path)}`,
    );
    if (outcome === 'conflict') return outcome;
    if (outcome === 'written') {
      state.routes.serverPatch = 'present';
      return afterServerWrite(state, entry, newUrl, ctx, 'patch', []);
    }
    if (outcome === 'absent') {
      state.routes.serverPatch = 'absent';
      state.logger.info('registry has no PATCH for servers; writing by register-overwrite from now on');
    }
    // 'unsaved': the registry could not apply the patch to this record; register can.
  }
  return registerServer(state, entry, newUrl, ctx, hostForms);
}

/** The route for a server write: PATCH where the registry has it and can apply it, else register. */
function serverRoute(state: ClientState, entry: RegistryEntry): 'patch' | 'register' {
  // 1.2x strips a stored trailing slash before its update, which then matches nothing (500).
  if (entry.path.endsWith('/')) return 'register';
  if (state.routes.serverPatch === 'absent' || entry.etag === undefined) return 'register';
  return 'patch';
}

/** Register-overwrite, re-sending every field the registry would otherwise reset. */
async function registerServer(
  state: ClientState,
  entry: RegistryEntry,
  newUrl: string,
  ctx: CallContext,
  hostForms: HostForms | undefined,
): Promise<WriteResult> {
  const tags = Array.isArray(entry.record.tags) ? entry.record.tags : [];
  if (tags.includes(SECURITY_PENDING_TAG)) {
    // Register re-sends the tags as the operator's: the scan's marker would become permanent.
    throw new PermanentError(
      `cannot rewrite server ${entry.path} by register-overwrite: it is tagged ${SECURITY_PENDING_TAG} (the registry's security scan disabled it), and register would re-send that tag as the operator's; let the registry re-scan it or clear the tag, then the next resync writes`,
    );
  }
  const current1x = isCurrentGeneration(entry.record);
  const record = current1x ? await withStoredToolCount(state, entry, ctx) : entry.record;
  const resets = current1x ? [...REGISTER_RESETS_1_2X] : fieldsResetByRewrite(entry.record);
  if (current1x && !Array.isArray(record.tool_list) && Number(record.num_tools) > 0) resets.push('tool_list');
  const form = serverRegistrationForm({ ...entry, record }, newUrl, hostForms);
  if (resets.length > 0) {
    state.logger.warn(
      'register-overwrite resets these fields (the registry did not show them, or always resets them to its defaults)',
      { path: entry.path, fields: resets },
    );
  }
  const policyCovers = hasPolicy(state, entry) && policyBlocksByDefault(newUrl);
  try {
    await state.http.send(
      {
        method: 'POST',
        path: '/api/servers/register',
        form,
        api: 'registry.write',
        entry,
        action: 'write',
        // The policy's refusal is a bare 500 here: once more at most, to tell it from a transient fault.
        ...(policyCovers ? { maxAttempts: 2 } : {}),
      },
      ctx,
    );
  } catch (error) {
    if (
      policyCovers &&
      error instanceof RegistryUnavailableError &&
      error.status === 500 &&
      error.message.includes(REGISTER_FAILED_DETAIL)
    ) {
      throw new PolicyDeniedError(
        'server',
        entry.path,
        newUrl,
        `register answered 500 ${REGISTER_FAILED_DETAIL} twice for a private address, which is how it words the policy's refusal`,
      );
    }
    throw error;
  }
  return afterServerWrite(state, entry, newUrl, ctx, 'register', resets);
}

/**
 * The record with the stored `num_tools`: 1.2x's single read shows an empty `tool_list`, and
 * register stores the length of a `tool_list_json` sent; the list read with
 * `include_tools=false` shows the stored count. An empty `tool_list` is then not re-sent.
 */
async function withStoredToolCount(
  state: ClientState,
  entry: RegistryEntry,
  ctx: CallContext,
): Promise<Record<string, unknown>> {
  const listed = await scanServerList(state, entry, ctx, READ, '&include_tools=false');
  const stored = listed?.record.num_tools;
  const record = { ...entry.record };
  if (typeof stored === 'number' && Number.isInteger(stored)) record.num_tools = stored;
  const tools = record.tool_list;
  if (Array.isArray(tools) && tools.length !== record.num_tools) delete record.tool_list;
  return record;
}

/** Whether this registry has the URL security policy (1.26+; every registry with the single read here). */
function hasPolicy(state: ClientState, entry: RegistryEntry): boolean {
  const api = state.options.api;
  return api === '1.29' || (api !== '1.0.16' && isCurrentGeneration(entry.record));
}

async function afterServerWrite(
  state: ClientState,
  entry: RegistryEntry,
  newUrl: string,
  ctx: CallContext,
  route: WriteRoute,
  resets: string[],
): Promise<WriteResult> {
  const after = await readServer(state, entry, ctx, READ_BACK);
  const expected = new Set([...SERVER_FIELDS_EXPECTED_TO_CHANGE, ...resets]);
  const confirmed = checkReadBack(state, entry, after, newUrl, expected);
  const disabledAfterWrite = entry.enabled === true && after.enabled === false;
  let reenabled = false;
  if (disabledAfterWrite) {
    const { reenableAfterWrite } = state.options;
    state.logger.warn('registry disabled the server after the write (its security scan?)', {
      path: entry.path,
      reenableAfterWrite,
    });
    if (reenableAfterWrite) {
      const form = new URLSearchParams({ path: entry.path, new_state: 'true' });
      await state.http.send(
        {
          method: 'POST',
          path: '/api/servers/toggle',
          form,
          api: 'registry.toggle',
          entry,
          action: 'toggle',
        },
        ctx,
      );
      reenabled = true;
      state.logger.warn('re-enabled the server (reenableAfterWrite is on)', { path: entry.path });
    }
  }
  return { url: after.url, confirmed, disabledAfterWrite, reenabled, route, resets };
}
