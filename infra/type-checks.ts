/**
 * Compile-time checks that two descriptions of one shape agree: `Assert<Same<A, B>>` fails
 * `npm run typecheck` when either side changes alone.
 */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type Assert<T extends true> = T;
