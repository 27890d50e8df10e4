/**
 * The registry's A2A agent card as v1.0.16 stores and returns it (pydantic `AgentCard`):
 * input accepts camelCase aliases and snake_case names; output (`model_dump()`) is snake_case
 * with every field present, defaults filled in.
 */

export type AgentCard = Record<string, unknown>;

/** A validation problem, in the shape FastAPI puts in a 422's `detail` list. */
export interface Problem {
  loc: (string | number)[];
  msg: string;
}

/** Thrown by the parsers below; the route turns it into a 422. */
export class ValidationFailure extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.loc.join('.')}: ${p.msg}`).join('; '));
    this.name = 'ValidationFailure';
  }
}

interface FieldSpec {
  name: string;
  alias?: string;
  /** Absent: the field is required. */
  default?: () => unknown;
}

/** AgentCard's fields, in its declaration order (which is `model_dump()`'s key order). */
const CARD_FIELDS: FieldSpec[] = [
  { name: 'protocol_version', alias: 'protocolVersion', default: () => '1.0' },
  { name: 'name' },
  { name: 'description' },
  { name: 'url' },
  { name: 'version' },
  { name: 'capabilities', default: () => ({}) },
  { name: 'default_input_modes', alias: 'defaultInputModes', default: () => ['text/plain'] },
  { name: 'default_output_modes', alias: 'defaultOutputModes', default: () => ['text/plain'] },
  { name: 'skills', default: () => [] },
  { name: 'preferred_transport', alias: 'preferredTransport', default: () => 'JSONRPC' },
  { name: 'provider', default: () => null },
  { name: 'icon_url', alias: 'iconUrl', default: () => null },
  { name: 'documentation_url', alias: 'documentationUrl', default: () => null },
  { name: 'security_schemes', alias: 'securitySchemes', default: () => ({}) },
  { name: 'security', default: () => null },
  {
    name: 'supports_authenticated_extended_card',
    alias: 'supportsAuthenticatedExtendedCard',
    default: () => null,
  },
  { name: 'metadata', default: () => ({}) },
  { name: 'path', default: () => null },
  { name: 'tags', default: () => [] },
  { name: 'is_enabled', alias: 'isEnabled', default: () => false },
  { name: 'num_stars', alias: 'numStars', default: () => 0 },
  { name: 'rating_details', alias: 'ratingDetails', default: () => [] },
  { name: 'license', default: () => 'N/A' },
  { name: 'registered_at', alias: 'registeredAt', default: () => null },
  { name: 'updated_at', alias: 'updatedAt', default: () => null },
  { name: 'registered_by', alias: 'registeredBy', default: () => null },
  { name: 'visibility', default: () => 'private' },
  { name: 'allowed_groups', alias: 'allowedGroups', default: () => [] },
  { name: 'sync_metadata', alias: 'syncMetadata', default: () => null },
  { name: 'signature', default: () => null },
  { name: 'trust_level', alias: 'trustLevel', default: () => 'unverified' },
];

const SKILL_FIELDS: FieldSpec[] = [
  { name: 'id' },
  { name: 'name' },
  { name: 'description' },
  { name: 'tags' },
  { name: 'examples', default: () => null },
  { name: 'input_modes', alias: 'inputModes', default: () => null },
  { name: 'output_modes', alias: 'outputModes', default: () => null },
  { name: 'security', default: () => null },
];

const SECURITY_SCHEME_FIELDS: FieldSpec[] = [
  { name: 'type' },
  { name: 'scheme', default: () => null },
  { name: 'in_', alias: 'in', default: () => null },
  { name: 'name', default: () => null },
  { name: 'bearer_format', alias: 'bearerFormat', default: () => null },
  { name: 'flows', default: () => null },
  { name: 'openid_connect_url', alias: 'openIdConnectUrl', default: () => null },
];

/** `AgentRegistrationRequest`, the body of `PUT /api/agents/{path}`; unknown fields are ignored. */
const REQUEST_FIELDS: FieldSpec[] = [
  { name: 'name' },
  { name: 'description', default: () => '' },
  { name: 'url' },
  { name: 'path', default: () => null },
  { name: 'protocol_version', alias: 'protocolVersion', default: () => '1.0' },
  { name: 'version', default: () => null },
  { name: 'provider', default: () => null },
  { name: 'security_schemes', alias: 'securitySchemes', default: () => null },
  { name: 'skills', default: () => null },
  { name: 'streaming', default: () => false },
  { name: 'tags', default: () => '' },
  { name: 'license', default: () => 'N/A' },
  { name: 'visibility', default: () => 'private' },
];

/** Picks `fields` from `input` (alias first, as pydantic does), filling defaults; missing required fields are problems. */
function pick(
  input: Record<string, unknown>,
  fields: FieldSpec[],
  loc: (string | number)[],
  problems: Problem[],
) {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.alias !== undefined && f.alias in input) out[f.name] = input[f.alias];
    else if (f.name in input) out[f.name] = input[f.name];
    else if (f.default !== undefined) out[f.name] = f.default();
    else problems.push({ loc: [...loc, f.alias ?? f.name], msg: 'Field required' });
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectString(value: unknown, loc: (string | number)[], problems: Problem[], nullable = false): void {
  if (typeof value === 'string' || (nullable && value === null)) return;
  problems.push({ loc, msg: 'Input should be a valid string' });
}

function protocolVersionProblem(version: unknown): string | undefined {
  if (typeof version !== 'string' || version === '') return 'Protocol version cannot be empty';
  const parts = version.split('.');
  if (parts.length < 2) return "Protocol version must be in format 'X.Y' or 'X.Y.Z'";
  if (!parts.every((p) => /^\d+$/.test(p))) return 'Protocol version parts must be numeric';
  return undefined;
}

function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return "Path must start with '/'";
  if (path.includes('//')) return 'Path cannot contain consecutive slashes';
  if (path.endsWith('/') && path.length > 1) return "Path cannot end with '/' unless it is the root path";
  return undefined;
}

/** AgentCard's tag coercion: a comma-separated string or a list, blanks dropped. */
function toTagList(value: unknown): string[] {
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  }
  if (Array.isArray(value)) return value.map((t) => String(t).trim()).filter((t) => t !== '');
  return [];
}

/**
 * Validates and normalises a card the way `AgentCard(**input)` does, returning its
 * `model_dump()`. Throws `ValidationFailure`.
 */
export function parseAgentCard(input: unknown): AgentCard {
  const problems: Problem[] = [];
  if (!isObject(input)) throw new ValidationFailure([{ loc: [], msg: 'Input should be a valid dictionary' }]);
  const card = pick(input, CARD_FIELDS, [], problems);
  for (const field of ['name', 'description', 'url', 'version'] as const) {
    if (field in card) expectString(card[field], [field], problems);
  }
  const pv = protocolVersionProblem(card.protocol_version);
  if (pv) problems.push({ loc: ['protocolVersion'], msg: pv });
  if (typeof card.url === 'string' && !/^https?:\/\/[^/?#]+/.test(card.url)) {
    problems.push({ loc: ['url'], msg: 'URL must use HTTP or HTTPS protocol and include a valid hostname' });
  }
  if (typeof card.path === 'string') {
    const p = pathProblem(card.path);
    if (p) problems.push({ loc: ['path'], msg: p });
  }
  if (!['public', 'group-restricted', 'private'].includes(card.visibility as string)) {
    problems.push({
      loc: ['visibility'],
      msg: 'Visibility must be one of: public, group-restricted, private',
    });
  }
  if (!['unverified', 'community', 'verified', 'trusted'].includes(card.trust_level as string)) {
    problems.push({
      loc: ['trustLevel'],
      msg: 'Trust level must be one of: unverified, community, verified, trusted',
    });
  }
  card.tags = toTagList(card.tags);
  card.capabilities = isObject(card.capabilities) ? card.capabilities : {};
  card.provider = parseProvider(card.provider, problems);
  card.skills = parseSkills(card.skills, problems);
  card.security_schemes = parseSecuritySchemes(card.security_schemes, problems);
  if (
    card.visibility === 'group-restricted' &&
    !(Array.isArray(card.allowed_groups) && card.allowed_groups.length)
  ) {
    problems.push({ loc: [], msg: 'Group-restricted visibility requires at least one allowed group' });
  }
  if (problems.length > 0) throw new ValidationFailure(problems);
  return card;
}

function parseProvider(value: unknown, problems: Problem[]): unknown {
  if (value === null || value === undefined) return null;
  if (!isObject(value)) {
    problems.push({ loc: ['provider'], msg: 'Input should be a valid dictionary' });
    return null;
  }
  const provider = pick(value, [{ name: 'organization' }, { name: 'url' }], ['provider'], problems);
  expectString(provider.organization, ['provider', 'organization'], problems);
  expectString(provider.url, ['provider', 'url'], problems);
  return provider;
}

function parseSkills(value: unknown, problems: Problem[]): unknown[] {
  if (!Array.isArray(value)) {
    problems.push({ loc: ['skills'], msg: 'Input should be a valid list' });
    return [];
  }
  const skills = value.map((raw, i) => {
    if (!isObject(raw)) {
      problems.push({ loc: ['skills', i], msg: 'Input should be a valid dictionary' });
      return {};
    }
    const skill = pick(raw, SKILL_FIELDS, ['skills', i], problems);
    if (typeof skill.id !== 'string' || skill.id === '' || skill.id.includes(' ')) {
      problems.push({ loc: ['skills', i, 'id'], msg: 'Skill ID cannot be empty or contain spaces' });
    }
    if (typeof skill.name !== 'string' || skill.name.trim() === '') {
      problems.push({ loc: ['skills', i, 'name'], msg: 'Skill name cannot be empty' });
    } else {
      skill.name = skill.name.trim();
    }
    expectString(skill.description, ['skills', i, 'description'], problems);
    if (!Array.isArray(skill.tags) || !skill.tags.every((t) => typeof t === 'string')) {
      problems.push({ loc: ['skills', i, 'tags'], msg: 'Input should be a valid list of strings' });
    }
    return skill;
  });
  const ids = skills.map((s) => s.id);
  const duplicates = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  if (duplicates.length > 0)
    problems.push({ loc: ['skills'], msg: `Duplicate skill IDs found: ${duplicates.join(', ')}` });
  return skills;
}

function parseSecuritySchemes(value: unknown, problems: Problem[]): Record<string, unknown> {
  if (!isObject(value)) {
    problems.push({ loc: ['securitySchemes'], msg: 'Input should be a valid dictionary' });
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!isObject(raw)) {
      problems.push({ loc: ['securitySchemes', name], msg: 'Input should be a valid dictionary' });
      continue;
    }
    const scheme = pick(raw, SECURITY_SCHEME_FIELDS, ['securitySchemes', name], problems);
    if (!['apiKey', 'http', 'oauth2', 'openIdConnect'].includes(scheme.type as string)) {
      problems.push({
        loc: ['securitySchemes', name, 'type'],
        msg: 'Security type must be one of: apiKey, http, oauth2, openIdConnect',
      });
    }
    out[name] = scheme;
  }
  return out;
}

/** The registry's `_normalize_path`: a leading slash, no trailing slash. */
export function normalizeAgentPath(path: string): string {
  let p = path.startsWith('/') ? path : `/${path}`;
  if (p.endsWith('/') && p.length > 1) p = p.replace(/\/+$/, '');
  return p;
}

/** The path an agent card is stored under: its own `path`, or one made from its name. */
export function agentPathOf(card: Record<string, unknown>): string {
  if (typeof card.path === 'string' && card.path !== '') return normalizeAgentPath(card.path);
  if (typeof card.name === 'string' && card.name !== '') {
    return normalizeAgentPath(card.name.toLowerCase().replaceAll(' ', '-'));
  }
  throw new ValidationFailure([{ loc: ['path'], msg: 'Path is required or name must be provided' }]);
}

/**
 * `PUT /api/agents/{path}` in v1.0.16: the request carries only some card fields; the new card is
 * built from those (capabilities from the top-level `streaming` flag) plus registered_by,
 * registered_at, is_enabled and num_stars of the existing card, and replaces it whole. Every
 * other field (default input/output modes, preferred transport, metadata, trust level, …) goes
 * back to its default. Returns the new card, or throws `ValidationFailure` (a 422).
 */
export function applyAgentUpdate(existing: AgentCard, path: string, body: unknown): AgentCard {
  if (!isObject(body))
    throw new ValidationFailure([{ loc: ['body'], msg: 'Input should be a valid dictionary' }]);
  const problems: Problem[] = [];
  const request = pick(body, REQUEST_FIELDS, ['body'], problems);
  for (const field of ['name', 'url'] as const) {
    if (field in request && (typeof request[field] !== 'string' || request[field] === '')) {
      problems.push({ loc: ['body', field], msg: 'String should have at least 1 character' });
    }
  }
  expectString(request.description, ['body', 'description'], problems);
  if (typeof request.path === 'string') {
    const p = pathProblem(request.path);
    if (p) problems.push({ loc: ['body', 'path'], msg: p });
  }
  expectString(request.version, ['body', 'version'], problems, true);
  if (typeof request.streaming !== 'boolean') {
    problems.push({ loc: ['body', 'streaming'], msg: 'Input should be a valid boolean' });
  }
  if (
    request.provider !== null &&
    !(isObject(request.provider) && Object.values(request.provider).every((v) => typeof v === 'string'))
  ) {
    problems.push({ loc: ['body', 'provider'], msg: 'Input should be a valid dictionary of strings' });
  }
  if (problems.length > 0) throw new ValidationFailure(problems);
  const card = parseAgentCard({
    protocol_version: request.protocol_version,
    name: request.name,
    description: request.description,
    url: request.url,
    path,
    version: request.version,
    provider: request.provider,
    security_schemes: request.security_schemes ?? {},
    skills: request.skills ?? [],
    capabilities: request.streaming ? { streaming: true } : {},
    tags: Array.isArray(request.tags) ? request.tags.join(',') : request.tags,
    license: request.license,
    visibility: request.visibility,
    registered_by: existing.registered_by,
    registered_at: existing.registered_at,
    is_enabled: existing.is_enabled,
    num_stars: existing.num_stars,
  });
  // agent_validator: an empty description is an error even though the model allows it.
  if (card.description === '') {
    throw new ValidationFailure([{ loc: ['body', 'description'], msg: 'Agent description cannot be empty' }]);
  }
  return card;
}
