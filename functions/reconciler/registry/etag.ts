/**
 * The registry's compare-and-swap tag (1.2x): `W/"<updated_at as epoch milliseconds>"`. Server
 * reads send no `ETag` header, so the tag is computed from the record's `updated_at`, the way the
 * registry computes it: a naive ISO timestamp (`datetime.utcnow().isoformat()`, no zone) is read in
 * the registry's own time zone, which is UTC in its containers; `Z` or an offset is honoured.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Epoch ms as Python's `int(dt.timestamp() * 1000)` gives it, or undefined for an unreadable value. */
export function epochMsOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let seconds =
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? '0')) / 1000;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    seconds -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
  }
  // Python adds the microseconds as a float and truncates; doing the same keeps the tag equal.
  const micro = Number((frac ?? '').padEnd(6, '0'));
  return Math.trunc((seconds + micro / 1e6) * 1000);
}

/** The tag for a record: its `updated_at`, else its `registered_at`, or undefined for a record without timestamps (v1.0.16). */
export function weakEtagOf(record: Record<string, unknown>): string | undefined {
  const ms = epochMsOf(record.updated_at) ?? epochMsOf(record.registered_at);
  return ms === undefined ? undefined : `W/"${ms}"`;
}
