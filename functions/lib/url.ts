/** Kept for callers outside the reconciler's own code; the rules live in core/url.ts. */
export * from './core/url';
