/**
 * What a URL rewrite sends. The registry has no field-level update for token clients: a server is
 * re-registered with `overwrite=true`, which resets every field it is not sent to a default
 * (`tool_list` [], `auth_scheme` none, `supported_transports` ["streamable-http"], `tags` [],
 * `num_tools` 0, `license` N/A), and an agent is replaced by a PUT of its card. So every field
 * is re-sent as read, and only the address (and endpoints on the same host) changes. (1.2x's
 * PATCH sends only the address and the endpoints that follow it; register and PUT remain its
 * fallbacks.)
 *
 * And what a write reset: the difference between the read before and the read-back
 * (`changedFields`), less what moves on purpose or by itself, plus what a route always replaces.
 */

import { isDeepStrictEqual } from 'node:util';
import { type HostForms, isHostForm, normalizeHost, splitUrl, swapHost } from '../core/url';
import { PermanentError } from '../errors';
import type { RegistryEntry } from '../reconcile/ports';
import { isObject } from './http';

/** Fields the registry's read shapes carry that this module reads. */
type ServerRecord = Record<string, unknown>;

/**
 * The form for `POST /api/servers/register` that rewrites `entry` to `newUrl`. Throws a
 * `PermanentError` naming the field when the record cannot be re-sent without loss.
 */
export function serverRegistrationForm(
  entry: RegistryEntry,
  newUrl: string,
  hostForms?: HostForms,
): URLSearchParams {
  const record: ServerRecord = entry.record;
  const form = new URLSearchParams();
  // FastAPI treats an empty form field as missing: an empty name or description would get a 422.
  form.set('name', requireText(entry, 'display_name', record.display_name ?? record.server_name));
  form.set('description', requireText(entry, 'description', record.description));
  form.set('path', entry.path);
  form.set('proxy_pass_url', newUrl);
  form.set('overwrite', 'true');
  form.set('tags', joinTags(entry, record.tags));
  if (typeof record.num_tools === 'number' && Number.isInteger(record.num_tools)) {
    form.set('num_tools', String(record.num_tools));
  }
  if (typeof record.license === 'string' && record.license !== '') form.set('license', record.license);
  form.set('auth_scheme', typeof record.auth_scheme === 'string' ? record.auth_scheme : 'none');
  setIfText(form, 'auth_header_name', record.auth_header_name);
  if (Array.isArray(record.supported_transports)) {
    form.set('supported_transports', JSON.stringify(record.supported_transports));
  }
  if (Array.isArray(record.tool_list)) form.set('tool_list_json', JSON.stringify(record.tool_list));
  // `{}` is what the registry shows for "no metadata"; sending it would add a field the record lacks.
  if (isObject(record.metadata) && Object.keys(record.metadata).length > 0) {
    form.set('metadata', JSON.stringify(record.metadata));
  }
  for (const e of followedEndpoints(record, entry.url, newUrl, hostForms)) form.set(e.field, e.after);
  // Shown by 1.2x reads; register would drop or reset them when not sent.
  setIfText(form, 'visibility', record.visibility);
  setIfText(form, 'transport', record.transport);
  setIfText(form, 'status', record.status);
  if (Array.isArray(record.allowed_groups) && record.allowed_groups.length > 0) {
    form.set('allowed_groups', joinList(entry, 'allowed_groups', record.allowed_groups));
  }
  if (Array.isArray(record.headers) && record.headers.length > 0)
    form.set('headers', JSON.stringify(record.headers));
  // `version` is never sent: with it the registry may register a new version instead of updating.
  return form;
}

/**
 * Fields v1.0.16's server list never shows. Its file backend replaces the whole record on
 * register-overwrite, so what is not re-sent falls back to the route's defaults (`visibility`
 * public, no `allowed_groups`, no `headers`, no `sse_endpoint`, `supported_transports`
 * ["streamable-http"]); its DocumentDB backend merges and keeps them. No route a bearer token may
 * call shows them: `GET /api/server_details/{path}` takes only the UI's session cookie.
 */
export const FIELDS_HIDDEN_BY_V1_LIST = [
  'allowed_groups',
  'headers',
  'sse_endpoint',
  'supported_transports',
  'visibility',
] as const;

/** The fields of `FIELDS_HIDDEN_BY_V1_LIST` this read did not show: a register-overwrite may reset them. */
export function fieldsHiddenFromRead(record: Record<string, unknown>): string[] {
  return FIELDS_HIDDEN_BY_V1_LIST.filter((field) => record[field] === undefined);
}

/**
 * The JSON body for `PUT /api/agents/{path}`: the card as read with `url` replaced. v1.0.16 builds
 * the new card's `capabilities` from a top-level `streaming` flag, so the card's
 * `capabilities.streaming` is repeated there when the card has no such flag.
 */
export function agentUpdateBody(entry: RegistryEntry, newUrl: string): Record<string, unknown> {
  const body: Record<string, unknown> = { ...entry.record, url: newUrl };
  const streaming = isObject(entry.record.capabilities) ? entry.record.capabilities.streaming : undefined;
  if (typeof body.streaming !== 'boolean' && typeof streaming === 'boolean') body.streaming = streaming;
  // The registry joins a tag list with commas and splits it again: check that survives.
  if (body.tags !== undefined) joinTags(entry, body.tags);
  return body;
}

/** The record's `mcp_endpoint` / `sse_endpoint` (those set) before and after they follow a move. */
export function followedEndpoints(
  record: Record<string, unknown>,
  oldUrl: string,
  newUrl: string,
  hostForms?: HostForms,
): { field: 'mcp_endpoint' | 'sse_endpoint'; before: string; after: string }[] {
  return (['mcp_endpoint', 'sse_endpoint'] as const).flatMap((field) => {
    const before = record[field];
    if (typeof before !== 'string' || before === '') return [];
    return [{ field, before, after: rewriteEndpoint(before, oldUrl, newUrl, hostForms) }];
  });
}

/**
 * `mcp_endpoint` / `sse_endpoint` follow the address when their host is a form of the entry's
 * host or of the target (`hostForms`: the old IP, the short name or `<name>.<namespace>`, in any
 * case, with or without a trailing dot), or, without `hostForms`, the same host as the address.
 * Their port follows too when it was the address's port and the port changed.
 */
export function rewriteEndpoint(
  endpoint: string,
  oldUrl: string,
  newUrl: string,
  hostForms?: HostForms,
): string {
  const before = splitUrl(oldUrl);
  const after = splitUrl(newUrl);
  const own = splitUrl(endpoint);
  if (!before || !after || !own) return endpoint;
  const follows =
    hostForms === undefined
      ? normalizeHost(own.host) === normalizeHost(before.host)
      : isHostForm(own.host, hostForms);
  if (!follows) return endpoint;
  const portFollows = after.port !== before.port && after.port !== '' && own.port === before.port;
  return swapHost(endpoint, after.host, portFollows ? Number(after.port) : undefined);
}

// ---- what a write resets ----

/** Fields a register-overwrite on 1.2x always replaces, whatever is sent (a new `id`, the caller as `registered_by`). */
export const REGISTER_REPLACES_1_2X = ['id', 'registered_by'];

/**
 * Fields that change on every write or by themselves, and so are never a reset: the registry's
 * clock, the health check's verdict, the enabled flag (reported as `disabledAfterWrite`), and
 * `versions`, which lists every version with its `proxy_pass_url`.
 */
export const SERVER_FIELDS_CHANGING_BY_THEMSELVES = [
  'updated_at',
  'health_status',
  'last_checked_iso',
  'is_enabled',
  'versions',
  // The security scan's verdict on the new address (1.31+: tools blocked, the server left enabled).
  'blocked_tools',
];

/** Fields PUT of an agent always replaces on 1.2x (a new `id`). */
export const PUT_REPLACES_1_2X = ['id'];
/** The registry's clock, which every write moves. */
export const AGENT_FIELDS_CHANGING_BY_THEMSELVES = ['updated_at', 'updatedAt'];

/** Field names whose values differ between two records, ignoring `ignore`. */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  ignore: ReadonlySet<string> = new Set(),
): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names]
    .filter((name) => !ignore.has(name) && !isDeepStrictEqual(before[name], after[name]))
    .sort();
}

function joinTags(entry: RegistryEntry, tags: unknown): string {
  if (tags === undefined || tags === null) return '';
  if (!Array.isArray(tags)) throw unsendable(entry, 'tags', 'is not a list');
  return joinList(entry, 'tags', tags);
}

/** A list the registry receives comma-joined and splits again, checked to survive that. */
function joinList(entry: RegistryEntry, field: string, items: unknown[]): string {
  for (const item of items) {
    // The registry splits on commas and strips blanks: such an item would come back changed.
    if (typeof item !== 'string' || item.includes(',') || item.trim() !== item || item === '') {
      throw unsendable(
        entry,
        field,
        `contains ${JSON.stringify(item)}, which the registry would split or alter`,
      );
    }
  }
  return items.join(',');
}

function requireText(entry: RegistryEntry, field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw unsendable(entry, field, 'is empty, and the registry rejects a re-registration without it');
  }
  return value;
}

function setIfText(form: URLSearchParams, field: string, value: unknown): void {
  if (typeof value === 'string' && value !== '') form.set(field, value);
}

function unsendable(entry: RegistryEntry, field: string, why: string): PermanentError {
  return new PermanentError(`cannot rewrite ${entry.kind} ${entry.path}: field ${field} ${why}`);
}
