/**
 * @module schemas/issues
 * Turns a failed zod parse into the gateway's one 400 (errors.ts): `param` is the field as a path
 * (`messages[2].role`), `code` a short stable string, and the message plain English that starts with
 * the field's name. Only the first issue is reported; zod's own texts and internals never reach a client.
 *
 * Messages are built in two halves. Zod produces the predicate ("must be a number") through
 * `PARSE_PARAMS.error` below, unless a schema sets its own (`.max(4, "accepts at most 4 …")`), which
 * wins; `toInvalidRequest` then puts the field's path in front.
 */
import type { core } from 'zod';
import { invalidRequest, type GatewayError } from '../errors.js';

type Issue = core.$ZodIssue;

/** `['messages', 2, 'role']` → `messages[2].role`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function describeType(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'array':
    case 'object':
      return `an ${expected}`;
    case 'boolean':
      return 'true or false';
    default:
      return `a ${expected}`;
  }
}

function listValues(values: readonly unknown[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length < 2 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/** What a union accepts, from the branches' own type issues: "a string or an array". */
function describeAlternatives(branches: readonly (readonly Issue[])[]): string {
  const parts: string[] = [];
  for (const branch of branches) {
    const first = branch[0];
    if (first?.code === 'invalid_type') parts.push(describeType(first.expected));
    else if (first?.code === 'invalid_value') parts.push(listValues(first.values));
  }
  if (parts.length === 0) return 'of an accepted type';
  return parts.length === 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`;
}

/** An absent required field: zod reports a wrong type, or for an enum or literal a wrong value, of `undefined`. */
function isMissing(iss: { code?: string; input?: unknown }): boolean {
  return iss.input === undefined && (iss.code === 'invalid_type' || iss.code === 'invalid_value');
}

function phrase(iss: core.$ZodRawIssue): string {
  if (isMissing(iss)) return 'is required';
  switch (iss.code) {
    case 'invalid_type':
      return `must be ${describeType(iss.expected)}`;
    case 'too_small':
      if (iss.origin === 'array') return iss.minimum === 1 ? 'must not be empty' : `must have at least ${iss.minimum} items`;
      if (iss.origin === 'string') return iss.minimum === 1 ? 'must not be empty' : `must be at least ${iss.minimum} characters long`;
      return iss.inclusive === false ? `must be greater than ${iss.minimum}` : `must be at least ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'array') return `accepts at most ${iss.maximum} items`;
      if (iss.origin === 'string') return `must be at most ${iss.maximum} characters long`;
      return iss.inclusive === false ? `must be less than ${iss.maximum}` : `must be at most ${iss.maximum}`;
    case 'invalid_value':
      return iss.values.length === 1 ? `must be ${listValues(iss.values)}` : `must be one of ${listValues(iss.values)}`;
    case 'invalid_union':
      return `must be ${describeAlternatives(iss.errors)}`;
    default:
      return 'is invalid';
  }
}

/**
 * Options for every `safeParse` (one constant object: nothing is built per request). `reportInput`
 * keeps the offending input on each issue, so a missing field can be told from a wrong one.
 */
export const PARSE_PARAMS = { error: phrase, reportInput: true } as const;

/**
 * A union's issue lists what every branch disliked. When one branch got past the type check (its first
 * issue is not "wrong type at the root"), that branch is what the client meant, so report its issue:
 * `stop: ["a","b","c","d","e"]` is "stop accepts at most 4 …", not "stop must be a string or an array".
 */
function resolveUnion(issue: Issue, path: readonly PropertyKey[]): { issue: Issue; path: PropertyKey[] } {
  const here = [...path, ...issue.path];
  if (issue.code !== 'invalid_union') return { issue, path: here };
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    const rootTypeMiss = first.path.length === 0 && (first.code === 'invalid_type' || first.code === 'invalid_value');
    if (!rootTypeMiss) return resolveUnion(first, here);
  }
  return { issue, path: here };
}

function codeOf(issue: Issue): string {
  if (isMissing(issue)) return 'missing_field';
  if (issue.code === 'invalid_type' || issue.code === 'invalid_union') return 'invalid_type';
  return 'invalid_value';
}

/** The 400 for the first issue of a failed parse. */
export function toInvalidRequest(issues: readonly Issue[]): GatewayError {
  const first = issues[0];
  if (!first) return invalidRequest('The request body is invalid', null, 'invalid_value');
  const { issue, path } = resolveUnion(first, []);
  const param = formatPath(path);
  return invalidRequest(`${param === '' ? 'The request body' : param} ${issue.message}`, param === '' ? null : param, codeOf(issue));
}
