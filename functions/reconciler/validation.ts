import { en } from 'zod/locales';
import * as z from 'zod/mini';

// zod/mini ships without messages; the English locale costs a few KB and makes errors readable.
// Modules that validate import `zod/mini` themselves (never a re-export of its namespace, which
// would keep all of zod in the bundle) and this module for its side effect and `formatIssues`.
z.config(en());

/** One line per problem, each naming the field by its path: `targets.1.path: Invalid input …`. */
export function formatIssues(error: z.core.$ZodError, root = ''): string {
  return error.issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter((p) => p !== '').join('.');
      return `${path === '' ? '(root)' : path}: ${issue.message}`;
    })
    .join('; ');
}
