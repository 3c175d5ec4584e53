/**
 * A body nested past Python's recursion limit gets FastAPI's 400 "There was an error parsing the body"
 * from vLLM (in vLLM's error shape), on every route; the simulator neither crashes nor drops the socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../vllm/sim/index.js';

let sim: Simulator;
beforeAll(async () => {
  sim = startSimulator({ ttftMs: 0, itlMs: 0 });
  await sim.ready;
});
afterAll(() => sim.close());

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe('deeply nested bodies', () => {
  it.each([
    ['/v1/completions', (d: string) => `{"prompt":"hi","x":${d}}`],
    ['/v1/chat/completions', (d: string) => `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"a":${d}}}}]}`],
    ['/v1/messages', (d: string) => `{"model":"qwen2.5-7b-instruct","max_tokens":3,"messages":[{"role":"user","content":"hi"}],"x":${d}}`],
  ])('%s: 400 past the limit, answered below it', async (path, body) => {
    const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(deep(20_000)) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { message: 'There was an error parsing the body', code: 400 } });
    const shallow = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(deep(50)) });
    expect(shallow.status).toBeLessThan(500);
  });
});
