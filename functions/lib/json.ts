/** JSON text decoded without throwing: the caller turns a failure into its own error or intake. */
export type JsonResult = { ok: true; value: unknown } | { ok: false; error: Error };

export function parseJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}
