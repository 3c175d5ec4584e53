/**
 * For a known sequence of requests, the metrics move by exactly the right amounts and the log has one
 * line per request with the promised fields, and nothing secret (issue 3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { API_KEYS: 'obs:sk-obs-secret-1', ALLOW_ANONYMOUS: 'false' } });
});
afterAll(() => stack.close());

async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}
const delta = (after: Map<string, number>, before: Map<string, number>, key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
const auth = { authorization: 'Bearer sk-obs-secret-1', 'x-fc-access-key-secret': 'FC-SECRET-VALUE', 'x-fc-security-token': 'FC-TOKEN-VALUE' };

describe('metrics for a known sequence', () => {
  it('move by the right amounts', async () => {
    const before = await scrape();
    const usage = { in: 0, out: 0 };
    for (let i = 0; i < 2; i++) {
      const res = await post(`${stack.url}/v1/chat/completions`, chatBody(`plain ${i}`, { max_tokens: 5 }), auth);
      const json = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      usage.in += json.usage.prompt_tokens;
      usage.out += json.usage.completion_tokens;
    }
    const streamed = await (await post(`${stack.url}/v1/chat/completions`, chatBody('streamed', { max_tokens: 4, stream: true, stream_options: { include_usage: true } }), auth)).text();
    const u = JSON.parse(streamed.split('\n\n').find((e) => e.includes('"usage"'))!.slice(6)) as { usage: { prompt_tokens: number; completion_tokens: number } };
    usage.in += u.usage.prompt_tokens;
    usage.out += u.usage.completion_tokens;
    // 6 tokens 40 ms apart: the time per output token after the first is about 40 ms.
    const paced = await (await post(`${stack.url}/v1/chat/completions`, chatBody('paced [[sim:itl=40]]', { max_tokens: 6, stream: true, stream_options: { include_usage: true } }), auth)).text();
    const p = JSON.parse(paced.split('\n\n').find((e) => e.includes('"usage"'))!.slice(6)) as { usage: { prompt_tokens: number; completion_tokens: number } };
    usage.in += p.usage.prompt_tokens;
    usage.out += p.usage.completion_tokens;
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('no key'))).status).toBe(401);
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('x', { temperature: 9 }), auth)).status).toBe(400);
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('x', { model: 'nope' }), auth)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 20));
    const after = await scrape();

    const ok = 'gateway_requests_total{route="/v1/chat/completions",model="qwen2.5-7b-instruct",key="obs",status="200"}';
    expect(delta(after, before, ok)).toBe(4);
    expect(delta(after, before, 'gateway_tokens_total{model="qwen2.5-7b-instruct",key="obs",type="input"}')).toBe(usage.in);
    expect(delta(after, before, 'gateway_tokens_total{model="qwen2.5-7b-instruct",key="obs",type="output"}')).toBe(usage.out);
    expect(usage.out).toBe(20);
    expect(delta(after, before, 'gateway_rejections_total{reason="auth"}')).toBe(1);
    expect(delta(after, before, 'gateway_rejections_total{reason="invalid"}')).toBe(1);
    expect(delta(after, before, 'gateway_rejections_total{reason="model_not_found"}')).toBe(1);
    const chat = 'route="/v1/chat/completions",model="qwen2.5-7b-instruct"';
    const backend = stack.gw.backends.all()[0]!.name;
    expect(delta(after, before, `gen_ai_server_time_to_first_token_seconds_count{${chat},backend="${backend}"}`)).toBe(2);
    expect(delta(after, before, `gen_ai_server_time_per_output_token_seconds_count{${chat}}`)).toBe(2);
    // The 4-token stream at 1 ms per token adds ~0.001 s, the paced one ~0.040 s (the simulator never sends sooner).
    const tpot = delta(after, before, `gen_ai_server_time_per_output_token_seconds_sum{${chat}}`);
    expect(tpot).toBeGreaterThan(0.039);
    expect(tpot).toBeLessThan(0.5);
    expect(delta(after, before, `gen_ai_server_request_duration_seconds_count{${chat}}`)).toBe(4);
    expect(delta(after, before, 'gateway_overhead_seconds_count{route="/v1/chat/completions"}')).toBe(4);
    expect(after.get('gateway_upstream_ready')).toBe(1);
    expect(after.get('gateway_in_flight_requests')).toBe(0);
    expect(after.get('gateway_queued_requests')).toBe(0);
    expect(after.has('process_cpu_user_seconds_total')).toBe(true);
  });
});

describe('request log', () => {
  it('one line per request with the promised fields, without keys, bodies or x-fc-* values', async () => {
    const start = stack.logs.length;
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('SECRET-PROMPT-TEXT', { max_tokens: 3, stream: true }), { ...auth, 'x-request-id': 'log-line-1' });
    await res.text();
    await new Promise((r) => setTimeout(r, 20));
    const lines = stack.logs.slice(start).filter((l) => l.reqId === 'log-line-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request',
      level: 'info',
      reqId: 'log-line-1',
      key: 'obs',
      model: 'qwen2.5-7b-instruct',
      stream: true,
      status: 200,
      tokensOut: 3,
      finishReason: 'length',
      clientAborted: false,
      upstreamError: null,
    });
    expect(lines[0]!.ttftMs).toEqual(expect.any(Number));
    expect(lines[0]!.durationMs).toEqual(expect.any(Number));
    expect(lines[0]!.tokensIn).toEqual(expect.any(Number));
    const raw = stack.rawLogs();
    for (const secret of ['sk-obs-secret-1', 'FC-SECRET-VALUE', 'FC-TOKEN-VALUE', 'SECRET-PROMPT-TEXT']) expect(raw).not.toContain(secret);
  });

  it('records the upstream error of a failed request', async () => {
    const start = stack.logs.length;
    await post(`${stack.url}/v1/chat/completions`, chatBody('x [[sim:http=500]]'), { ...auth, 'x-request-id': 'log-line-2' });
    await new Promise((r) => setTimeout(r, 20));
    const line = stack.logs.slice(start).find((l) => l.reqId === 'log-line-2');
    expect(line).toMatchObject({ status: 500, upstreamError: { kind: 'http_5xx' } });
  });

  it('sets x-request-id and server-timing on answers', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('timing'), auth);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.headers.get('server-timing')).toMatch(/gw;dur=\d+\.\d+, upstream;dur=\d+\.\d+/);
    const err = await post(`${stack.url}/v1/chat/completions`, chatBody('x'));
    expect(err.headers.get('x-request-id')).toBeTruthy();
  });
});
