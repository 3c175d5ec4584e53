/** From a zod issue to the gateway's 400: the param path, the code, and a message without zod in it. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatPath, PARSE_PARAMS, toInvalidRequest } from '../../../gateway/schemas/issues.js';

function firstError(schema: z.ZodType, input: unknown) {
  const result = schema.safeParse(input, PARSE_PARAMS);
  if (result.success) throw new Error('expected the parse to fail');
  return toInvalidRequest(result.error.issues);
}

describe('formatPath', () => {
  it.each([
    [[], ''],
    [['temperature'], 'temperature'],
    [['messages', 2, 'role'], 'messages[2].role'],
    [['tools', 0, 'function', 'name'], 'tools[0].function.name'],
    [['prompt', 1, 0], 'prompt[1][0]'],
  ])('%j → %s', (path, want) => {
    expect(formatPath(path)).toBe(want);
  });
});

describe('toInvalidRequest', () => {
  const schema = z.looseObject({
    a: z.number().max(3),
    b: z.array(z.looseObject({ c: z.enum(['x', 'y']) })).nullish(),
    d: z.union([z.string(), z.array(z.string()).max(1)]).nullish(),
    e: z.literal('only').nullish(),
  });

  it('reports the first issue only, as a 400 invalid_request_error', () => {
    const err = firstError(schema, { a: 'no', b: 'no' });
    expect(err.status).toBe(400);
    expect(err.toJSON()).toEqual({ error: { message: 'a must be a number', type: 'invalid_request_error', param: 'a', code: 'invalid_type' } });
  });

  it('tells a missing field from a wrong one', () => {
    expect(firstError(schema, {}).code).toBe('missing_field');
    expect(firstError(schema, {}).message).toBe('a is required');
    expect(firstError(schema, { a: 1, b: [{}] }).toJSON().error).toMatchObject({ param: 'b[0].c', code: 'missing_field' });
  });

  it('words ranges, enums and literals for a developer', () => {
    expect(firstError(schema, { a: 4 }).message).toBe('a must be at most 3');
    expect(firstError(schema, { a: 1, b: [{ c: 'z' }] }).message).toBe('b[0].c must be one of "x" or "y"');
    expect(firstError(schema, { a: 1, e: 'other' }).message).toBe('e must be "only"');
  });

  it("reports a union's matching branch, or else what the union accepts", () => {
    expect(firstError(schema, { a: 1, d: ['p', 'q'] }).toJSON().error).toMatchObject({ param: 'd', message: 'd accepts at most 1 items', code: 'invalid_value' });
    expect(firstError(schema, { a: 1, d: [5] }).toJSON().error).toMatchObject({ param: 'd[0]', code: 'invalid_type' });
    expect(firstError(schema, { a: 1, d: 5 }).toJSON().error).toMatchObject({ param: 'd', message: 'd must be a string or an array', code: 'invalid_type' });
  });

  it('never passes on zod wording', () => {
    const err = firstError(schema, { a: 1, b: 7 });
    expect(err.message).toBe('b must be an array');
    expect(err.message).not.toMatch(/Invalid input|expected|received/);
  });
});
