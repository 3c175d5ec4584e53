/**
 * Tool calls the way vLLM's hermes parser returns them (vllm.md 3.1, 4): a call to the first (or the
 * named) tool with deterministic JSON arguments; streamed as an opening delta with id/type/name, then
 * argument fragments, the last one in the finish chunk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../vllm/sim/index.js';
import { toolArguments } from '../../vllm/sim/text.js';
import { chat, fastSim, postJson, rawPost, sseData } from './support.js';

const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } };
const clock = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } } } } };

interface Chunk {
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string; tool_calls?: Array<{ index: number; id?: string; type?: string; function: { name?: string; arguments?: string } }> };
    finish_reason: string | null;
  }>;
}

let sim: Simulator;
beforeAll(async () => {
  sim = await fastSim();
});
afterAll(() => sim.close());

describe('streamed tool calls', () => {
  it('opens the call with index, id, type and name, then streams the arguments; finish_reason tool_calls', async () => {
    const res = await rawPost(sim, '/v1/chat/completions', chat('Weather in Paris?', { stream: true, tools: [weather, clock] }));
    const events = sseData(res.body);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    const opening = chunks[1]?.choices[0]?.delta.tool_calls?.[0];
    expect(opening).toEqual({ index: 0, id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{16}$/), type: 'function', function: { name: 'get_weather', arguments: '' } });
    const fragments = chunks.slice(2).map((c) => c.choices[0]?.delta.tool_calls?.[0]);
    expect(fragments.length).toBeGreaterThanOrEqual(2);
    for (const f of fragments) expect(Object.keys(f ?? {})).toEqual(['index', 'function']);
    const args = fragments.map((f) => f?.function.arguments ?? '').join('');
    expect(args).toBe(toolArguments('get_weather', weather.function.parameters));
    expect(JSON.parse(args)).toEqual({ city: expect.any(String), days: expect.any(Number) });
    expect(chunks.map((c) => c.choices[0]?.finish_reason)).toEqual([...new Array<null>(chunks.length - 1).fill(null), 'tool_calls']);
  });

  it('a named tool_choice calls that tool and finishes with "stop"', async () => {
    const body = chat('What time is it?', { stream: true, tools: [weather, clock], tool_choice: { type: 'function', function: { name: 'get_time' } } });
    const chunks = sseData((await rawPost(sim, '/v1/chat/completions', body)).body).slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    expect(chunks[1]?.choices[0]?.delta.tool_calls?.[0]?.function.name).toBe('get_time');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    const args = chunks.slice(2).map((c) => c.choices[0]?.delta.tool_calls?.[0]?.function.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ zone: 'UTC' });
  });
});

describe('non-streaming tool calls', () => {
  it('puts the call in message.tool_calls with arguments as a JSON string and content null', async () => {
    const { json } = await postJson<{ choices: Array<{ message: Record<string, unknown>; finish_reason: string }>; usage: { completion_tokens: number } }>(
      sim,
      '/v1/chat/completions',
      chat('Weather?', { tools: [weather], tool_choice: 'required' }),
    );
    const choice = json.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      annotations: null,
      audio: null,
      function_call: null,
      tool_calls: [{ id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{16}$/), type: 'function', function: { name: 'get_weather', arguments: toolArguments('get_weather', weather.function.parameters) } }],
      reasoning: null,
    });
    expect(json.usage.completion_tokens).toBeGreaterThan(1);
  });

  it('tool_choice "none" answers with text', async () => {
    const { json } = await postJson<{ choices: Array<{ message: { content: string; tool_calls?: unknown } }> }>(sim, '/v1/chat/completions', chat('no tools', { tools: [weather], tool_choice: 'none', max_tokens: 3 }));
    expect(json.choices[0]?.message.content).toMatch(/^\w+ \w+ \w+$/);
    expect(json.choices[0]?.message.tool_calls).toBeUndefined();
  });
});
