/**
 * Seed data for the local registry, from JSON files like the registry's own: server records
 * (with `server_name` and `path`), agent cards, and `server_state.json` (path → enabled).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Records to load into the local registry. */
export interface SeedData {
  /** Server records as the registry stores them. */
  servers?: Record<string, unknown>[];
  /** A2A agent cards (camelCase or snake_case). */
  agents?: Record<string, unknown>[];
  /** Enabled flags by server path, as in `server_state.json`; servers not named are disabled. */
  state?: Record<string, boolean>;
}

/**
 * Reads seed files. Each argument is a JSON file or a directory, whose `*.json` files are read
 * (recursively, like the registry's loader). Throws naming any file it cannot classify.
 */
export function loadSeed(paths: string[]): SeedData {
  const seed: Required<SeedData> = { servers: [], agents: [], state: {} };
  for (const file of paths.flatMap(jsonFiles)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`seed file ${file} is not valid JSON: ${(error as Error).message}`);
    }
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) classify(item, file, seed);
  }
  return seed;
}

function jsonFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const full = join(path, name);
      if (statSync(full).isDirectory()) return jsonFiles(full);
      return name.endsWith('.json') ? [full] : [];
    });
}

function classify(item: unknown, file: string, seed: Required<SeedData>): void {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new Error(`seed file ${file}: expected an object, got ${JSON.stringify(item)?.slice(0, 40)}`);
  }
  const record = item as Record<string, unknown>;
  const values = Object.values(record);
  if (
    basename(file) === 'server_state.json' ||
    (values.length > 0 && values.every((v) => typeof v === 'boolean'))
  ) {
    Object.assign(seed.state, record);
  } else if (typeof record.server_name === 'string' && typeof record.path === 'string') {
    seed.servers.push(record);
  } else if (typeof record.name === 'string' && typeof record.url === 'string') {
    seed.agents.push(record);
  } else {
    throw new Error(
      `seed file ${file}: neither a server (server_name, path), an agent card (name, url) nor a state map`,
    );
  }
}

/**
 * Each seeded server's starting flag for the command line: the state map's (its path, or its
 * other slash spelling), else the record's own `is_enabled` when it is a boolean, else enabled.
 */
export function seededEnabled(seed: SeedData): Record<string, boolean> {
  const state = seed.state ?? {};
  const flags: Record<string, boolean> = {};
  for (const server of seed.servers ?? []) {
    const path = String(server.path);
    const other = path.endsWith('/') ? path.replace(/\/+$/, '') : `${path}/`;
    const own = typeof server.is_enabled === 'boolean' ? server.is_enabled : undefined;
    flags[path] = state[path] ?? state[other] ?? own ?? true;
  }
  return flags;
}
