/**
 * The streaming translator (gateway/surfaces/responses/stream.ts) fed with the simulator's real chat SSE
 * bytes: text, tool calls, max_tokens, arbitrary splits, and streams that vLLM cuts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseShell } from '../../../gateway/surfaces/responses/response.js';
import { ResponsesStreamTranslator } from '../../../gateway/surfaces/responses/stream.js';
import type { ResponseEcho } from '../../../gateway/surfaces/responses/types.js';
import { startSimulator, type Simulator } from '../../../vllm/sim/index.js';

let sim: Simulator;
beforeAll(async () => {
  sim = startSimulator({ ttftMs: 0, itlMs: 0, outputTokens: 12 });
  await sim.ready;
});
afterAll(async () => {
  await sim.close();
});

const ECHO: ResponseEcho = {
  instructions: null, metadata: {}, temperature: null, top_p: null, tools: [], tool_choice: 'auto', parallel_tool_calls: true,
  text: { format: { type: 'text' } }, truncation: 'disabled', max_output_tokens: null, max_tool_calls: null, previous_response_id: null,
  conversation: null, store: true, service_tier: 'default', top_logprobs: 0, reasoning: { effort: null, summary: null }, background: false,
};
const translator = () => new ResponsesStreamTranslator(responseShell({ id: 'resp_test', model: 'qwen2.5-7b-instruct', createdAt: 1, echo: ECHO }));

/** Raw SSE chunks of one streamed chat completion, as they came off the socket; `cut` when the body failed. */
async function chatStream(body: Record<string, unknown>): Promise<{ chunks: Buffer[]; cut: boolean }> {
  const res = await fetch(`${sim.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'qwen2.5-7b-instruct', stream: true, stream_options: { include_usage: true }, ...body }),
  });
  expect(res.status).toBe(200);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res.body!) chunks.push(Buffer.from(chunk as Uint8Array));
    return { chunks, cut: false };
  } catch {
    return { chunks, cut: true };
  }
}

interface Event {
  event: string;
  data: Record<string, unknown> & { type: string; sequence_number: number };
}

function parseEvents(text: string): Event[] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      expect(rest).toEqual([]);
      expect(eventLine).toMatch(/^event: /);
      expect(dataLine).toMatch(/^data: /);
      return { event: eventLine!.slice(7), data: JSON.parse(dataLine!.slice(6)) as Event['data'] };
    });
}

function run(chunks: Buffer[], cut: boolean): { t: ResponsesStreamTranslator; events: Event[]; outputs: string[] } {
  const t = translator();
  const outputs = [t.start(), ...chunks.map((c) => t.push(c))];
  outputs.push(cut ? t.fail({ code: 'upstream_reset', message: 'lost' }) : t.end());
  const events = parseEvents(outputs.join(''));
  events.forEach((e, i) => {
    expect(e.data.type).toBe(e.event);
    expect(e.data.sequence_number).toBe(i);
  });
  return { t, events, outputs };
}

const user = (text: string) => ({ messages: [{ role: 'user', content: text }] });
const contentChunks = (chunks: Buffer[]) =>
  Buffer.concat(chunks).toString('utf8').split('\n\n').filter((l) => /"delta":\{[^}]*"content":"[^"]/.test(l)).length;

describe('streaming translator', () => {
  it('translates a text answer event by event and ends with response.completed carrying usage', async () => {
    const { chunks, cut } = await chatStream(user('Tell me something.'));
    const { t, events } = run(chunks, cut);
    const types = events.map((e) => e.event);
    const deltas = types.filter((x) => x === 'response.output_text.delta').length;
    expect(types).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      ...Array<string>(deltas).fill('response.output_text.delta'),
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(deltas).toBe(contentChunks(chunks));
    const text = events.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data.delta).join('');
    expect(events.find((e) => e.event === 'response.output_text.done')?.data.text).toBe(text);
    const final = events.at(-1)!.data.response as Record<string, unknown>;
    expect(final).toMatchObject({ id: 'resp_test', status: 'completed', output_text: text, error: null });
    expect(final.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: 12, output_tokens_details: { reasoning_tokens: 0 } });
    expect(t.completed).toBe(true);
    expect(t.finishReason).toBe('stop');
    expect(t.usage?.completion_tokens).toBe(12);
    expect(t.response.status).toBe('completed');
    expect(events.some((e) => e.event === 'error')).toBe(false);
  });

  it('writes each upstream delta as soon as it arrives, whatever the byte splits', async () => {
    const { chunks } = await chatStream(user('Split me.'));
    const whole = Buffer.concat(chunks);
    const bytewise = Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1));
    const a = run(chunks, false).events.map((e) => [e.event, e.data.delta ?? null]);
    const b = run(bytewise, false).events.map((e) => [e.event, e.data.delta ?? null]);
    expect(b).toEqual(a);
    // A chunk holding exactly one content event yields exactly one delta event, at once.
    const t = translator();
    t.start();
    const firstContent = Buffer.concat(chunks).toString('utf8').split('\n\n').find((l) => /"content":"[^"]/.test(l))!;
    const out = parseEvents(t.push(Buffer.from(`${firstContent}\n\n`)));
    expect(out.map((e) => e.event)).toEqual(['response.output_item.added', 'response.content_part.added', 'response.output_text.delta']);
  });

  it('translates a tool call into function_call events with vLLM\'s call id', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const { chunks, cut } = await chatStream({ ...user('Weather in Paris?'), tools });
    const { t, events } = run(chunks, cut);
    const types = events.map((e) => e.event);
    expect(types[2]).toBe('response.output_item.added');
    expect(types).toContain('response.function_call_arguments.delta');
    expect(types.slice(-3)).toEqual(['response.function_call_arguments.done', 'response.output_item.done', 'response.completed']);
    const added = events[2]!.data.item as Record<string, unknown>;
    expect(added).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '', status: 'in_progress' });
    expect(added.call_id).toMatch(/^chatcmpl-tool-/);
    const args = events.filter((e) => e.event === 'response.function_call_arguments.delta').map((e) => e.data.delta).join('');
    expect(JSON.parse(args)).toHaveProperty('city');
    expect(events.find((e) => e.event === 'response.function_call_arguments.done')?.data.arguments).toBe(args);
    expect(t.response.output).toEqual([{ id: added.id, type: 'function_call', call_id: added.call_id, name: 'get_weather', arguments: args, status: 'completed' }]);
    expect(t.finishReason).toBe('tool_calls');
  });

  it('ends with response.incomplete when vLLM stops at max_tokens', async () => {
    const { chunks } = await chatStream({ ...user('Long answer please.'), max_tokens: 3 });
    const { t, events } = run(chunks, false);
    expect(events.at(-1)!.event).toBe('response.incomplete');
    expect(t.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(events.find((e) => e.event === 'response.output_item.done')?.data.item).toMatchObject({ status: 'incomplete' });
    expect(t.completed).toBe(true);
  });

  it('fails the response when vLLM sends an error event mid-stream', async () => {
    const { chunks } = await chatStream(user('Break [[sim:error-mid-stream]]'));
    const { t, events } = run(chunks, false);
    expect(events.slice(-2).map((e) => e.event)).toEqual(['response.failed', 'error']);
    expect(events.some((e) => e.event === 'response.completed')).toBe(false);
    expect(events.at(-1)!.data).toEqual({ type: 'error', code: 'upstream_error', message: expect.any(String), param: null, sequence_number: events.length - 1 });
    expect(t.response).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
    expect(t.completed).toBe(false);
  });

  it('fails the response when the connection to vLLM is reset mid-stream', async () => {
    const { chunks, cut } = await chatStream(user('Cut [[sim:reset-mid-stream]]'));
    expect(cut).toBe(true);
    const { t, events } = run(chunks, true);
    expect(events.slice(-2).map((e) => e.event)).toEqual(['response.failed', 'error']);
    const failed = events.at(-2)!.data.response as { output: Array<{ status: string }> };
    expect(failed.output.every((i) => i.status === 'incomplete')).toBe(true);
    expect(t.response.status).toBe('failed');
  });

  it('fails the response when the body ends without [DONE], and on a malformed event', async () => {
    const { chunks } = await chatStream(user('Half.'));
    const whole = Buffer.concat(chunks).toString('utf8');
    const head = whole.slice(0, whole.indexOf('"finish_reason":"stop"'));
    const half = run([Buffer.from(head)], false);
    expect(half.events.slice(-2).map((e) => e.event)).toEqual(['response.failed', 'error']);
    expect(half.events.at(-1)!.data.code).toBe('upstream_stream_cut');

    const bad = await chatStream(user('Garble [[sim:malformed-line]]'));
    const malformed = run(bad.chunks, false);
    expect(malformed.events.slice(-2).map((e) => e.event)).toEqual(['response.failed', 'error']);
    expect(malformed.events.at(-1)!.data.code).toBe('upstream_malformed_event');
  });

  it('writes nothing after the end', () => {
    const t = translator();
    t.start();
    const failed = t.fail({ code: 'shutdown', message: 'bye' });
    expect(parseEvents(failed).map((e) => e.event)).toEqual(['response.failed', 'error']);
    expect(t.push(Buffer.from('data: {"choices":[]}\n\n'))).toBe('');
    expect(t.end()).toBe('');
    expect(t.fail({ code: 'again', message: 'x' })).toBe('');
  });
});
