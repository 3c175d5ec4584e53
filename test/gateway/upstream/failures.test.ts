import { describe, expect, it } from 'vitest';
import { failureBeforeResponse, fromUpstreamError, kindOf } from '../../../gateway/upstream/failures.js';

const timeouts = { idleMs: 1000, firstByteMs: 2000, requestMs: 3000 };

describe('fromUpstreamError: every vLLM error shape becomes the OpenAI envelope (vllm.md 5.1)', () => {
  it('nested shape (>= v0.10.1): keeps status, message and param of a 4xx', () => {
    const { error } = fromUpstreamError(400, '{"error":{"message":"temperature must be <= 2","type":"BadRequestError","param":"temperature","code":400}}');
    expect(error.status).toBe(400);
    expect(error.toJSON()).toEqual({ error: { message: 'temperature must be <= 2', type: 'invalid_request_error', param: 'temperature', code: null } });
  });

  it('flat shape (<= v0.10.0)', () => {
    const { error } = fromUpstreamError(400, '{"object":"error","message":"bad thing","type":"BadRequestError","param":null,"code":400}');
    expect(error.toJSON().error.message).toBe('bad thing');
  });

  it('marks context-length errors with a stable code', () => {
    const { error } = fromUpstreamError(400, JSON.stringify({ error: { message: "This model's maximum context length is 16384 tokens. However, you requested 20000", type: 'BadRequestError', param: 'input_tokens', code: 400 } }));
    expect(error.code).toBe('context_length_exceeded');
  });

  it('detail, string and empty bodies', () => {
    expect(fromUpstreamError(404, '{"detail":"Not Found"}').error.toJSON().error).toMatchObject({ message: 'Not Found', type: 'not_found_error' });
    expect(fromUpstreamError(422, '').error.toJSON().error.message).toMatch(/HTTP 422/);
    const e503 = fromUpstreamError(503, '{"error":"The model is currently scaling. Please try again later."}');
    expect(e503.error.status).toBe(503);
    expect(e503.upstreamMessage).toMatch(/scaling/);
  });

  it('hides 5xx messages from the client but keeps them for the log', () => {
    const { error, upstreamMessage } = fromUpstreamError(500, '{"error":{"message":"EngineCore encountered an issue at 0x7f00 /usr/lib/python3/x.py","type":"InternalServerError","param":null,"code":500}}');
    expect(error.status).toBe(500);
    expect(error.message).not.toMatch(/EngineCore|0x7f00|python/);
    expect(upstreamMessage).toMatch(/EngineCore/);
  });

  it("turns vLLM's 401 (our VLLM_API_KEY is wrong) into a 502: not the client's fault", () => {
    const { error } = fromUpstreamError(401, '{"error":"Unauthorized"}');
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_auth_failed');
  });

  it('scrubs internal addresses from messages that do pass through', () => {
    const { error } = fromUpstreamError(400, '{"error":{"message":"could not reach http://10.0.0.5:8000/x or 10.0.0.5:9000","type":"BadRequestError","param":null,"code":400}}');
    expect(error.message).not.toMatch(/10\.0\.0\.5/);
  });
});

describe('transport failures', () => {
  it('classifies undici error codes', () => {
    expect(kindOf({ code: 'ECONNREFUSED' })).toBe('connect_refused');
    expect(kindOf({ code: 'UND_ERR_HEADERS_TIMEOUT' })).toBe('first_byte_timeout');
    expect(kindOf({ code: 'UND_ERR_BODY_TIMEOUT' })).toBe('idle_timeout');
    expect(kindOf({ code: 'UND_ERR_SOCKET' })).toBe('reset');
    expect(kindOf(new Error('x'))).toBe('other');
  });

  it('timeouts are 504, refused is 503 with Retry-After, resets are 502', () => {
    expect(failureBeforeResponse('first_byte_timeout', timeouts).status).toBe(504);
    expect(failureBeforeResponse('total_timeout', timeouts).status).toBe(504);
    const refused = failureBeforeResponse('connect_refused', timeouts);
    expect(refused.status).toBe(503);
    expect(refused.headers?.['retry-after']).toBeDefined();
    expect(failureBeforeResponse('reset', timeouts).status).toBe(502);
  });
});
