/**
 * @module sim/pydantic
 * The request-schema layer of vLLM, approximated: pydantic's lax type checks on the fields the simulator
 * reads, and vLLM's handler for the resulting RequestValidationError (vllm.md 5.2): 400, type
 * "Bad Request" (the HTTP phrase, not "BadRequestError"), `param` taken from a VLLMValidationError raised
 * inside a model validator or else from the cleaned `loc` ("body.temperature"), message
 * "N validation error(s):\n  {…}" with one Python-dict repr per error. The reprs leave out pydantic's
 * `input`/`ctx` for body-level errors (vLLM would echo the whole body there); clients must not parse the
 * text anyway (vllm.md 5.1).
 */
import type { SimError } from './errors.js';

export interface PydanticIssue {
  type: string;
  loc: ReadonlyArray<string | number>;
  msg: string;
  /** Shown as pydantic's `input`; absent for body-level errors. */
  input?: unknown;
  /** Set when a model validator raised a VLLMValidationError with a parameter. */
  vllmParam?: string;
}

export function validationFailure(issues: readonly PydanticIssue[]): SimError {
  const first = issues[0];
  const param = issues.find((i) => i.vllmParam !== undefined)?.vllmParam ?? (first ? first.loc.join('.') : null);
  const label = issues.length === 1 ? 'error' : 'errors';
  const lines = issues.map((i) => `  ${issueRepr(i)}`).join('\n');
  return { status: 400, type: 'Bad Request', message: `${issues.length} validation ${label}:\n${lines}`, param };
}

/** A VLLMValidationError raised by one of the request model's validators (message gets str(exc)'s suffix). */
export function modelValidatorIssue(message: string, param?: string): PydanticIssue {
  const suffix = param === undefined ? '' : ` (parameter=${param})`;
  return { type: 'value_error', loc: ['body'], msg: `Value error, ${message}${suffix}`, ...(param === undefined ? {} : { vllmParam: param }) };
}

export function missingIssue(loc: ReadonlyArray<string | number>): PydanticIssue {
  return { type: 'missing', loc, msg: 'Field required' };
}

function issueRepr(i: PydanticIssue): string {
  const parts = [`'type': ${pyRepr(i.type)}`, `'loc': ${pyTuple(i.loc)}`, `'msg': ${pyRepr(i.msg)}`];
  if ('input' in i) parts.push(`'input': ${pyRepr(i.input)}`);
  return `{${parts.join(', ')}}`;
}

function pyTuple(items: ReadonlyArray<string | number>): string {
  const inner = items.map((x) => pyRepr(x)).join(', ');
  return items.length === 1 ? `(${inner},)` : `(${inner})`;
}

/** Python's repr of a JSON value (None/True/False, single-quoted strings, 3.0 for floats). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return pyStr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyStr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return pyStr(String(value));
}

function pyStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return out + quote;
}

/** How Python prints a float (`3.0`, `0.5`), for messages about float fields. */
export function pyFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  return String(n);
}

export type FieldKind = 'float' | 'int' | 'bool' | 'str' | 'dict' | 'list';

const BOOL_STRINGS: Readonly<Record<string, boolean>> = {
  true: true, false: false, yes: true, no: false, on: true, off: false, '1': true, '0': false, t: true, f: false, y: true, n: false,
};

/**
 * Checks `value` against `kind` in pydantic's lax mode and returns the coerced value, or pushes an issue
 * and returns undefined. `null` is accepted (every field the simulator reads is Optional).
 */
export function coerce(value: unknown, kind: FieldKind, loc: ReadonlyArray<string | number>, issues: PydanticIssue[]): unknown {
  if (value === null) return null;
  const fail = (type: string, msg: string): undefined => {
    issues.push({ type, loc, msg, input: value });
    return undefined;
  };
  switch (kind) {
    case 'float':
      if (typeof value === 'number') return value;
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'string') {
        const n = Number(value.trim());
        return value.trim() !== '' && Number.isFinite(n) ? n : fail('float_parsing', 'Input should be a valid number, unable to parse string as a number');
      }
      return fail('float_type', 'Input should be a valid number');
    case 'int':
      if (typeof value === 'number') {
        return Number.isInteger(value) ? value : fail('int_from_float', 'Input should be a valid integer, got a number with a fractional part');
      }
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'string') {
        return /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : fail('int_parsing', 'Input should be a valid integer, unable to parse string as an integer');
      }
      return fail('int_type', 'Input should be a valid integer');
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === 1) return value === 1;
      if (typeof value === 'string') {
        const b = BOOL_STRINGS[value.trim().toLowerCase()];
        return b ?? fail('bool_parsing', 'Input should be a valid boolean, unable to interpret input');
      }
      return fail('bool_type', 'Input should be a valid boolean');
    case 'str':
      return typeof value === 'string' ? value : fail('string_type', 'Input should be a valid string');
    case 'dict':
      return typeof value === 'object' && !Array.isArray(value) ? value : fail('dict_type', 'Input should be a valid dictionary');
    case 'list':
      return Array.isArray(value) ? value : fail('list_type', 'Input should be a valid list');
  }
}
