/**
 * The Anthropic surface as a unit (surfaces/anthropic.ts): what parse hands the pipeline, the error
 * envelope by status, and how its stream reader ends a stream that has no message_stop.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../gateway/errors.js';
import { anthropicErrorType, countTokensSurface, messagesSurface } from '../../../gateway/surfaces/anthropic.js';
import type { SurfaceContext, SurfaceRequest } from '../../../gateway/surfaces/surface.js';

const ctx: SurfaceContext = { owner: 'k', maxTokensLimit: undefined, maxMessages: 3 };
const parse = (json: unknown, c = ctx) => messagesSurface.parse(json, c) as SurfaceRequest;

describe('parse', () => {
  it('hands the pipeline the body untouched, the stream flag, max_tokens and metadata.user_id as the session', () => {
    const json = { model: 'm', max_tokens: 9, stream: true, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: 'user_x_session_y' }, thinking: { type: 'disabled' } };
    const req = parse(json);
    expect(req.body).toEqual(json);
    expect(req).toMatchObject({ model: 'm', stream: true, maxTokens: 9, session: 'user_x_session_y' });
    expect(parse({ max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] })).toMatchObject({ model: undefined, stream: false, session: undefined });
  });

  it("estimates prompt tokens from system, text blocks, tool results and tool inputs", () => {
    const small = parse({ max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }).promptTokensEstimate;
    const big = 'y'.repeat(4000);
    for (const messages of [
      [{ role: 'user', content: [{ type: 'text', text: big }] }],
      [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: big }] }],
      [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: big }] }] }],
      [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { q: big } }] }],
    ]) {
      expect(parse({ max_tokens: 1, messages }).promptTokensEstimate).toBeGreaterThanOrEqual(1000);
    }
    expect(parse({ max_tokens: 1, system: [{ type: 'text', text: big }], messages: [{ role: 'user', content: 'x' }] }).promptTokensEstimate).toBeGreaterThan(small + 999);
  });

  it('refuses more messages than MAX_MESSAGES and max_tokens over MAX_TOKENS_LIMIT', () => {
    const four = Array.from({ length: 4 }, () => ({ role: 'user', content: 'x' }));
    expect(() => parse({ max_tokens: 1, messages: four })).toThrow(/at most 3 messages/);
    expect(() => parse({ max_tokens: 11, messages: [{ role: 'user', content: 'x' }] }, { ...ctx, maxTokensLimit: 10 })).toThrow(/at most 10/);
  });

  it('count_tokens costs no tokens and asks the pipeline to add no max_tokens', () => {
    const req = countTokensSurface.parse({ messages: [{ role: 'user', content: 'x'.repeat(4000) }] }, ctx) as SurfaceRequest;
    expect(req).toMatchObject({ stream: false, maxTokens: 0, promptTokensEstimate: 0 });
    expect(req.jsonAnswer(Buffer.from('{"input_tokens":1000}'))).toMatchObject({ body: Buffer.from('{"input_tokens":1000}') });
  });
});

describe('errors', () => {
  it("types each status as Anthropic's docs do", () => {
    const types = Object.fromEntries([400, 401, 403, 404, 405, 413, 422, 429, 500, 502, 503, 504, 507].map((s) => [s, anthropicErrorType(s)]));
    expect(types).toEqual({
      400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 405: 'invalid_request_error',
      413: 'request_too_large', 422: 'invalid_request_error', 429: 'rate_limit_error', 500: 'api_error', 502: 'api_error',
      503: 'overloaded_error', 504: 'timeout_error', 507: 'api_error',
    });
  });

  it('writes {"type":"error","error":{"type","message"}} and nothing else', () => {
    const err = new GatewayError(429, 'slow down', { type: 'requests', code: 'rate_limit_exceeded' });
    expect(messagesSurface.errorBody(err)).toBe('{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}');
  });
});

describe('stream reader', () => {
  const req = () => parse({ max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] });
  const START = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":0}}}\n\n';

  it('a stream that ends cleanly without message_stop ends with an error event; a partial last event is dropped', () => {
    const reader = req().streamReader();
    expect(reader.push(Buffer.from(START))?.toString()).toBe(START);
    expect(reader.push(Buffer.from('event: content_block_delta\ndata: {"type":"con'))).toBeUndefined();
    const { tail, failure } = reader.end();
    expect(failure?.kind).toBe('stream_truncated');
    expect(String(tail)).toBe('event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The connection to the model server was lost; the answer is incomplete."}}\n\n');
  });

  it('a clean stream ends with nothing added', () => {
    const reader = req().streamReader();
    reader.push(Buffer.from(`${START}event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n`));
    expect(reader.end()).toEqual({ tail: undefined });
    expect(reader.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(reader.finishReason).toBe('stop');
  });

  it('fail() is one Anthropic error event (504 as timeout_error)', () => {
    const event = req().streamReader().fail(new GatewayError(504, 'too slow', { type: 'timeout_error' }));
    expect(event).toBe('event: error\ndata: {"type":"error","error":{"type":"timeout_error","message":"too slow"}}\n\n');
  });
});
