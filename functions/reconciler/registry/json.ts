/** Small helpers for the JSON the registry and Keycloak answer with. */
import { parseJson } from '../json';

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value when it is a JSON object, else undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return isObject(value) ? value : undefined;
}

/**
 * Parsed JSON, or undefined for an empty or malformed text: an answer body is judged by its shape
 * afterwards, and its text is never quoted (it may carry a secret).
 */
export function jsonOrUndefined(text: string): unknown {
  if (text.trim() === '') return undefined;
  const parsed = parseJson(text);
  return parsed.ok ? parsed.value : undefined;
}
