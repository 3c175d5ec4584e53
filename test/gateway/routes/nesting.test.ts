/**
 * Deeply nested request bodies (issue 9, part 3). A body nested deeper than MAX_JSON_DEPTH (default 64)
 * is refused with a 400 `invalid_request_error` that names the limit and points at the field, before
 * anything goes upstream; wherever the nesting hides (an unknown field, tool parameters, a JSON schema,
 * a content part), the gateway never answers 500 and stays up. A body at the bound is forwarded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.js';

const MODEL = 'qwen2.5-7b-instruct';
const DEEP = 5_000;

/** `[[[...]]]`, `depth` arrays deep, built as text: the test itself must not recurse. */
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
/** `{"a":{"a":...1}}`, `depth` objects deep. */
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

const messages = '[{"role":"user","content":"hi"}]';
const completionWith = (field: string, value: string) => `{"model":"${MODEL}","prompt":"hi","max_tokens":4,"${field}":${value}}`;
const chatWith = (field: string, value: string) => `{"model":"${MODEL}","messages":${messages},"max_tokens":4,"${field}":${value}}`;
const chatWithTool = (parameters: string) =>
  `{"model":"${MODEL}","messages":${messages},"max_tokens":4,"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":${parameters}}}]}`;
const chatWithSchema = (schema: string) =>
  `{"model":"${MODEL}","messages":${messages},"max_tokens":4,"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":${schema}}}}`;
const chatWithContentPart = (value: string) =>
  `{"model":"${MODEL}","messages":[{"role":"user","content":[{"type":"text","text":"hi","extra":${value}}]}],"max_tokens":4}`;

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function send(url: string, body: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

async function expectTooDeep(stack: Stack, path: string, body: string, field: string, limit = 64): Promise<ErrorBody['error']> {
  const before = stack.sim.requests.length;
  const res = await send(`${stack.url}${path}`, body);
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const { error } = JSON.parse(text) as ErrorBody;
  expect(error.type).toBe('invalid_request_error');
  expect(error.message).toContain(String(limit));
  expect(error.message).toMatch(/nest|depth/i);
  expect(typeof error.param, `param of ${JSON.stringify(error)}`).toBe('string');
  expect(error.param!.startsWith(field), `param ${error.param} starts with ${field}`).toBe(true);
  // Refused before anything went upstream.
  expect(stack.sim.requests.length).toBe(before);
  return error;
}

async function expectForwarded(stack: Stack, path: string, body: string): Promise<void> {
  const before = stack.sim.requests.length;
  const res = await send(`${stack.url}${path}`, body);
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(200);
  expect((JSON.parse(text) as { choices: unknown[] }).choices.length).toBeGreaterThan(0);
  expect(stack.sim.requests.length).toBe(before + 1);
}

/** Every sample of gateway_internal_errors_total; the metric must be declared even before any 500. */
async function internalErrors(stack: Stack): Promise<number[]> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  expect(text).toMatch(/^# TYPE gateway_internal_errors_total counter$/m);
  return [...text.matchAll(/^gateway_internal_errors_total(?:\{[^}]*\})? (\S+)$/gm)].map((m) => Number(m[1]));
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

describe('bodies nested deeper than MAX_JSON_DEPTH (default 64) are a 400 naming the limit and the field', () => {
  it(`/v1/completions: a ${DEEP}-deep array in an unknown field`, async () => {
    await expectTooDeep(stack, '/v1/completions', completionWith('x', deepArray(DEEP)), 'x');
  });

  it(`/v1/completions: a ${DEEP}-deep object in an unknown field`, async () => {
    await expectTooDeep(stack, '/v1/completions', completionWith('x', deepObject(DEEP)), 'x');
  });

  it(`/v1/chat/completions: a ${DEEP}-deep array and object in an unknown field`, async () => {
    await expectTooDeep(stack, '/v1/chat/completions', chatWith('x', deepArray(DEEP)), 'x');
    await expectTooDeep(stack, '/v1/chat/completions', chatWith('x', deepObject(DEEP)), 'x');
  });

  it('the legacy paths /generate and /chat refuse the same way', async () => {
    await expectTooDeep(stack, '/generate', completionWith('x', deepArray(DEEP)), 'x');
    await expectTooDeep(stack, '/chat', chatWith('x', deepObject(DEEP)), 'x');
  });

  it('in tools[].function.parameters', async () => {
    await expectTooDeep(stack, '/v1/chat/completions', chatWithTool(deepObject(DEEP)), 'tools');
  });

  it('in response_format (a json_schema schema)', async () => {
    await expectTooDeep(stack, '/v1/chat/completions', chatWithSchema(deepObject(DEEP)), 'response_format');
  });

  it('in a content part', async () => {
    await expectTooDeep(stack, '/v1/chat/completions', chatWithContentPart(deepArray(DEEP)), 'messages');
  });

  it('just past the bound (depth 80 inside an unknown field) is refused too', async () => {
    await expectTooDeep(stack, '/v1/completions', completionWith('x', deepArray(80)), 'x');
  });
});

describe('what stays allowed', () => {
  it('a body at the bound (depth 60 inside an unknown field) is forwarded and answered', async () => {
    await expectForwarded(stack, '/v1/completions', completionWith('x', deepArray(60)));
    await expectForwarded(stack, '/v1/chat/completions', chatWith('x', deepObject(60)));
  });

  it('brackets inside a string are text, not nesting', async () => {
    await expectForwarded(stack, '/v1/completions', `{"model":"${MODEL}","prompt":${JSON.stringify('['.repeat(DEEP) + '{'.repeat(DEEP))},"max_tokens":4}`);
  });

  it('a tool with ordinary nested parameters still works', async () => {
    const parameters = JSON.stringify({ type: 'object', properties: { where: { type: 'object', properties: { city: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } } } } });
    await expectForwarded(stack, '/v1/chat/completions', chatWithTool(parameters));
  });
});

describe('the process', () => {
  it('stays up and serves after every deep body, with no internal error counted', async () => {
    expect((await fetch(`${stack.url}/livez`)).status).toBe(200);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    await expectForwarded(stack, '/v1/completions', completionWith('x', '[1,[2]]'));
    const samples = await internalErrors(stack);
    for (const v of samples) expect(v).toBe(0);
  });
});

describe('MAX_JSON_DEPTH=10 lowers the bound', () => {
  let low: Stack;
  beforeAll(async () => {
    low = await startStack({ env: { MAX_JSON_DEPTH: '10' } });
  });
  afterAll(() => low.close());

  it('depth 20 is refused naming 10; depth 5 is forwarded', async () => {
    await expectTooDeep(low, '/v1/completions', completionWith('x', deepArray(20)), 'x', 10);
    await expectTooDeep(low, '/v1/chat/completions', chatWithTool(deepObject(20)), 'tools', 10);
    await expectForwarded(low, '/v1/completions', completionWith('x', deepArray(5)));
  });

  it(`the ${DEEP}-deep body is refused the same way, and no internal error is counted`, async () => {
    await expectTooDeep(low, '/v1/completions', completionWith('x', deepObject(DEEP)), 'x', 10);
    for (const v of await internalErrors(low)) expect(v).toBe(0);
  });
});
