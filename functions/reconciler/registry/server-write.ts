/**
 * Writing a server, one rule on every registry generation: PATCH with the entry's tag in
 * `If-Match` first, whatever the path; the registry's answer decides what follows.
 * - 2xx: written. 412: the entry changed since it was read (the caller reads again and decides
 *   again). The URL policy's 400: `PolicyDeniedError`, attempted once.
 * - 1.29's `500 Failed to save server` (a stored trailing slash its update cannot match): the
 *   If-Match and the policy have just passed, so register-overwrite at once, re-sending every field.
 * - 404/405 from the route itself: no PATCH here (v1.0.16): register-overwrite from then on.
 * Then the read-back, the exact list of what the write reset, and the re-enable when opted in.
 */
import type { HostForms } from '../core/url';
import { PermanentError } from '../errors';
import type { CallContext, RegistryEntry, WriteResult, WriteRoute } from '../ports';
import { changedFields, encodePath, isCurrentGeneration } from './answers';
import { RegistryUnavailableError } from './http';
import { patchEntry } from './patch';
import { policyBlocksByDefault, REGISTER_FAILED_DETAIL } from './policy';
import { checkReadBack } from './readback';
import { fieldsHiddenFromRead, followedEndpoints, serverRegistrationForm } from './rewrite';
import { readServer, scanServerList } from './server-read';
import { type ClientState, READ, READ_BACK, SECURITY_PENDING_TAG } from './state';

/** Fields a register-overwrite on 1.2x always replaces, whatever is sent (a new `id`, the caller as `registered_by`). */
const REGISTER_REPLACES_1_2X = ['id', 'registered_by'];

/**
 * Fields that change on every write or by themselves, and so are never a reset: the registry's
 * clock, the health check's verdict, the enabled flag (reported as `disabledAfterWrite`), and
 * `versions`, which lists every version with its `proxy_pass_url`.
 */
const CHANGING_BY_THEMSELVES = [
  'updated_at',
  'health_status',
  'last_checked_iso',
  'is_enabled',
  'versions',
  // The security scan's verdict on the new address (1.31+: tools blocked, the server left enabled).
  'blocked_tools',
];

/** What the register route is told about the PATCH that came before it. */
type PolicyKnown = 'passed' | 'unknown';

/** Writes the server's address by PATCH where the registry takes it, else register; then reads it back. `conflict` on a 412. */
export async function writeServer(
  state: ClientState,
  entry: RegistryEntry,
  newUrl: string,
  ctx: CallContext,
  hostForms: HostForms | undefined,
): Promise<WriteResult | 'conflict'> {
  let policy: PolicyKnown = 'unknown';
  if (state.routes.serverPatch !== 'absent' && entry.etag !== undefined) {
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
      return afterServerWrite(state, entry, newUrl, ctx, 'patch', hostForms, []);
    }
    if (outcome === 'absent') {
      state.routes.serverPatch = 'absent';
      state.logger.info('registry has no PATCH for servers; writing by register-overwrite from now on');
    } else if (!entry.path.endsWith('/')) {
      // 'unsaved' where no stored trailing slash explains it: the repository's update failed (1.29
      // answers a database error so too). Nothing was saved; a later attempt may PATCH it.
      throw new RegistryUnavailableError(
        `registry write of server ${entry.path} (PATCH /api/servers${encodePath(entry.path)}): HTTP 500 (Failed to save server): the registry could not save it; retried later`,
        { status: 500 },
      );
    } else {
      // 'unsaved' on a path stored with a trailing slash: 1.29 checked the tag and the URL policy,
      // then its update could not match the slash. Nothing was saved, scanned or announced;
      // register can write the record.
      state.routes.serverPatch = 'present';
      policy = 'passed';
      state.logger.info(
        'registry could not save the PATCH (1.29, path with a trailing slash) after its If-Match and URL policy passed; writing by register-overwrite at once',
        { path: entry.path },
      );
    }
  }
  return registerServer(state, entry, newUrl, ctx, hostForms, policy);
}

/** Register-overwrite, re-sending every field the registry would otherwise reset. */
async function registerServer(
  state: ClientState,
  entry: RegistryEntry,
  newUrl: string,
  ctx: CallContext,
  hostForms: HostForms | undefined,
  policy: PolicyKnown,
): Promise<WriteResult | 'conflict'> {
  const tags = Array.isArray(entry.record.tags) ? entry.record.tags : [];
  if (tags.includes(SECURITY_PENDING_TAG)) {
    // Register re-sends the tags as the operator's: the scan's marker would become permanent.
    throw new PermanentError(
      `cannot rewrite server ${entry.path} by register-overwrite: it is tagged ${SECURITY_PENDING_TAG} (the registry's security scan disabled it), and register would re-send that tag as the operator's; let the registry re-scan it or clear the tag, then the next resync writes`,
    );
  }
  const current1x = isCurrentGeneration(entry.record);
  const listed = current1x
    ? await scanServerList(state, entry, ctx, READ, '&include_tools=false')
    : undefined;
  const record = current1x ? withStoredToolCount(entry, listed) : entry.record;
  // Register has no precondition: look once more right before it (the list just read when it shows
  // the record's timestamps, as 1.29 does; else the single read), so that a change made since our
  // read, and since the PATCH's If-Match check, is re-decided, never overwritten. What remains is
  // the one round trip between this look's answer and register's save (1.32's PATCH has none).
  if (entry.etag !== undefined && (await changedSinceRead(state, entry, listed, ctx))) return 'conflict';
  const form = serverRegistrationForm({ ...entry, record }, newUrl, hostForms);
  const mayReset = current1x ? [] : fieldsHiddenFromRead(entry.record);
  if (mayReset.length > 0) {
    state.logger.warn(
      "register-overwrite may reset these fields: this registry's reads do not show them, so they cannot be re-sent (v1.0.16; its file backend replaces the whole record)",
      { path: entry.path, fields: mayReset },
    );
  }
  try {
    await state.http.send(
      {
        method: 'POST',
        path: '/api/servers/register',
        form,
        api: 'registry.write',
        entry,
        action: 'write',
      },
      ctx,
    );
  } catch (error) {
    // Register answers any failure inside it, the URL policy's refusal included, with this bare
    // 500. It is retried like any 5xx and never read as the policy: where PATCH ran first, the
    // policy has answered already; where there is no PATCH, a hint is all that can be given.
    if (
      policy === 'unknown' &&
      current1x &&
      error instanceof RegistryUnavailableError &&
      error.status === 500 &&
      error.message.includes(REGISTER_FAILED_DETAIL) &&
      policyBlocksByDefault(newUrl)
    ) {
      throw new RegistryUnavailableError(
        `${error.message}; register words every failure so, the URL policy's refusal included (1.26+): if the registry has the policy, SSRF_ALLOWED_CIDRS must cover ${newUrl}`,
        { status: 500, cause: error },
      );
    }
    throw error;
  }
  const replaced = current1x ? REGISTER_REPLACES_1_2X : [];
  // 1.2x stores `tool_list` [] when no `tool_list_json` is sent; its stored count says whether it had tools.
  const toolsDropped = current1x && !form.has('tool_list_json') && Number(record.num_tools) > 0;
  const result = await afterServerWrite(state, entry, newUrl, ctx, 'register', hostForms, [
    ...replaced,
    ...(toolsDropped ? ['tool_list'] : []),
  ]);
  return mayReset.length > 0 ? { ...result, mayReset } : result;
}

/**
 * The record with the stored `num_tools`: 1.2x's single read shows an empty `tool_list`, and
 * register stores the length of a `tool_list_json` sent; the list read with
 * `include_tools=false` (`listed`) shows the stored count. An empty `tool_list` is then not re-sent.
 */
function withStoredToolCount(
  entry: RegistryEntry,
  listed: RegistryEntry | undefined,
): Record<string, unknown> {
  const stored = listed?.record.num_tools;
  const record = { ...entry.record };
  if (typeof stored === 'number' && Number.isInteger(stored)) record.num_tools = stored;
  const tools = record.tool_list;
  if (Array.isArray(tools) && tools.length !== record.num_tools) delete record.tool_list;
  return record;
}

/**
 * Whether the entry's tag moved since `entry` was read: the last look before a register-overwrite.
 * `listed` (the list read just made) serves when it shows the record's timestamps.
 */
async function changedSinceRead(
  state: ClientState,
  entry: RegistryEntry,
  listed: RegistryEntry | undefined,
  ctx: CallContext,
): Promise<boolean> {
  const now = listed?.etag !== undefined ? listed : await readServer(state, entry, ctx, READ);
  if (now.etag === entry.etag) return false;
  state.logger.warn('the entry changed since it was read; not overwriting it by register', {
    path: entry.path,
    read: entry.etag,
    now: now.etag,
  });
  return true;
}

/**
 * The read-back, and what the write reset: the fields whose value differs between the read
 * before and the read-back (less the address and the endpoints we moved on purpose, and the
 * fields that change by themselves), plus `alwaysReplaced`, each named once.
 */
async function afterServerWrite(
  state: ClientState,
  entry: RegistryEntry,
  newUrl: string,
  ctx: CallContext,
  route: WriteRoute,
  hostForms: HostForms | undefined,
  alwaysReplaced: readonly string[],
): Promise<WriteResult> {
  const after = await readServer(state, entry, ctx, READ_BACK);
  const moved = followedEndpoints(entry.record, entry.url, newUrl, hostForms)
    .filter((e) => e.after !== e.before)
    .map((e) => e.field);
  const intended = new Set(['proxy_pass_url', ...moved, ...CHANGING_BY_THEMSELVES]);
  const confirmed = checkReadBack(state, entry, after, newUrl);
  const changed = changedFields(entry.record, after.record, intended).filter(
    (field) => field !== 'tags' || !onlyScanTagAdded(entry.record.tags, after.record.tags),
  );
  const resets = [...new Set([...alwaysReplaced, ...changed])];
  if (resets.length > 0) {
    state.logger.warn('the write reset these fields', { path: entry.path, route, fields: resets });
  }
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

/** The tags differ only by the scan's `security-pending` marker, added after the write (reported as the scan's, not a reset). */
function onlyScanTagAdded(before: unknown, after: unknown): boolean {
  if (!Array.isArray(before) || !Array.isArray(after)) return false;
  const withoutMarker = after.filter((tag) => tag !== SECURITY_PENDING_TAG);
  return (
    !before.includes(SECURITY_PENDING_TAG) &&
    withoutMarker.length === before.length &&
    withoutMarker.every((tag, i) => tag === before[i])
  );
}

/**
 * The fields a write of `entry` may reset without any read showing it, as known before writing
 * (for a dry run's record): a server that can only be written by register-overwrite and whose
 * reads hide fields (v1.0.16).
 */
export function serverFieldsMayReset(state: ClientState, entry: RegistryEntry): string[] {
  if (entry.kind !== 'server' || isCurrentGeneration(entry.record)) return [];
  if (state.routes.serverPatch !== 'absent' && entry.etag !== undefined) return [];
  return fieldsHiddenFromRead(entry.record);
}
