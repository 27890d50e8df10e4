import * as v from 'valibot';

// Modules that validate import `valibot` themselves (its functions tree-shake one by one) and this
// module for the shared pieces and `formatIssues`, which words every problem the same way.

type Issue = v.BaseIssue<unknown>;

/** The unknown keys a strict object found, by its issue (the message function sees them all). */
const unknownKeysByIssue = new WeakMap<Issue, readonly string[]>();

/**
 * `schema`, refusing an array as the wrong type: valibot's object and record schemas take any
 * `typeof 'object'`, so `[]` would pass for an object whose keys are all optional.
 */
export function notArray<S extends v.GenericSchema>(schema: S): S {
  return v._standardSchema<S>({
    ...schema,
    '~run'(dataset, config) {
      if (!Array.isArray(dataset.value)) return schema['~run'](dataset, config);
      v._addIssue(schema as v.GenericSchema, 'type', dataset, config);
      return dataset as ReturnType<S['~run']>;
    },
  });
}

/** An object that keeps unknown keys (and refuses an array). */
export function looseObject<const E extends v.ObjectEntries>(entries: E) {
  return notArray(v.looseObject(entries));
}

/**
 * An object that refuses unknown keys, naming all of them in one issue (valibot's own stops at
 * the first): `Unrecognized key: "x"` or `Unrecognized keys: "x", "y"`. It refuses an array too.
 */
export function strictObject<const E extends v.ObjectEntries>(entries: E) {
  return notArray(strictObjectOf(entries));
}

function strictObjectOf<const E extends v.ObjectEntries>(entries: E) {
  return v.strictObject(entries, (issue) => {
    if (issue.expected !== 'never') return issue.message;
    const object = issue.path?.[0]?.input;
    const keys =
      object !== null && typeof object === 'object'
        ? Object.keys(object).filter((k) => !Object.hasOwn(entries, k))
        : [String(issue.input)];
    unknownKeysByIssue.set(issue, keys);
    return `Unrecognized key${keys.length === 1 ? '' : 's'}: ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
  });
}

/** The keys an unknown-key issue of `strictObject` names, or undefined for any other issue. */
export function unknownKeys(issue: Issue): readonly string[] | undefined {
  return unknownKeysByIssue.get(issue);
}

/** An integer within [min, max]. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return v.pipe(
    v.number(),
    v.integer('must be an integer'),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
}

/**
 * The field an issue concerns, as dotted keys (`targets.1.path`); an unknown key is the problem
 * of the object that holds it, so it is named by that object.
 */
export function issuePath(issue: Issue): string[] {
  const keys = (issue.path ?? []).map((item) => String(item.key));
  return unknownKeys(issue) === undefined ? keys : keys.slice(0, -1);
}

const OPTIONS = new Set(['picklist', 'literal', 'variant', 'enum']);

/**
 * What is wrong, without echoing the value (it may be large, or a secret in the wrong field):
 * wrong types and missing keys in our words, our own messages and valibot's bounds as they are.
 */
export function issueMessage(issue: Issue): string {
  if (issue.kind !== 'schema' || unknownKeys(issue) !== undefined) return issue.message;
  const expected = (issue.expected ?? 'a value')
    .replace(/^\((.*)\)$/, '$1')
    .replace(/\b(Object|Array)\b/g, (w) => w.toLowerCase());
  const last = issue.path?.at(-1);
  // A value outside a set of literals (an enum, or a union's discriminator), rather than of the wrong shape.
  if (OPTIONS.has(issue.type) && expected.startsWith('"') && !(issue.input instanceof Object))
    return `Invalid option: expected one of ${expected}`;
  if (issue.input === undefined && last?.origin === 'key') return 'missing (required)';
  return `Invalid input: expected ${expected}, received ${typeName(issue.input)}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** One line per problem, each naming the field by its path: `targets.1.path: must start with /`. */
export function formatIssues(issues: readonly Issue[], root = ''): string {
  return issueLines(issues, root).join('; ');
}

/** The problems of `formatIssues`, one string each. */
export function issueLines(issues: readonly Issue[], root = ''): string[] {
  return issues.map((issue) => {
    const path = [root, ...issuePath(issue)].filter((p) => p !== '').join('.');
    return `${path === '' ? '(root)' : path}: ${issueMessage(issue)}`;
  });
}
