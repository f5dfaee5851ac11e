/**
 * The parts of zod Caretaker uses, as named exports; import it as `import * as z from '…/zod'`.
 * zod's own `z` is a namespace object, and bundling it pulls all of zod (every locale, ~450 KB)
 * into each Lambda; named exports let esbuild keep only what is used (~85 KB).
 */
export {
  array,
  boolean,
  email,
  enum,
  iso,
  literal,
  number,
  object,
  record,
  string,
  union,
  unknown,
} from 'zod';
export type { infer, input, output, ZodType } from 'zod';
export type { $ZodIssue } from 'zod/v4/core';
