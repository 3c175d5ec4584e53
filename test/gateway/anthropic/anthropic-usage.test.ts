/**
 * The side view of vLLM's Anthropic stream (proxy/anthropic-usage.ts): whole events only, bytes never
 * re-serialised, usage from message_start + message_delta, vLLM's error event held back; and the
 * non-streaming body's usage and stop reason.
 */
import { describe, expect, it } from 'vitest';
import { AnthropicSseScanner, readAnthropicMessage } from '../../../gateway/proxy/anthropic-usage.js';

const ev = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`;
const START = ev('message_start', '{"type":"message_start","message":{"id":"chatcmpl-1","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":0}}}');
const BLOCK = ev('content_block_start', '{"type":"content_block_start","content_block":{"type":"text","text":""},"index":0}');
const delta = (text: string) => ev('content_block_delta', `{"type":"content_block_delta","delta":{"type":"text_delta","text":${JSON.stringify(text)}},"index":0}`);
const STOP_BLOCK = ev('content_block_stop', '{"type":"content_block_stop","index":0}');
const MESSAGE_DELTA = ev('message_delta', '{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"input_tokens":12,"output_tokens":3}}');
const STOP = ev('message_stop', '{"type":"message_stop"}');
const STREAM = START + BLOCK + delta('a') + delta('b "usage":{ c') + delta('d') + STOP_BLOCK + MESSAGE_DELTA + STOP;

function run(chunks: Buffer[]): { out: string; scanner: AnthropicSseScanner } {
  const scanner = new AnthropicSseScanner();
  let out = '';
  for (const c of chunks) {
    const bytes = scanner.push(c);
    if (bytes) {
      out += bytes.toString('utf8');
      expect(out.endsWith('\n\n')).toBe(true);
    }
  }
  const rest = scanner.flush();
  if (rest) out += rest.toString('utf8');
  return { out, scanner };
}

describe('AnthropicSseScanner', () => {
  it('forwards the bytes unchanged and reads usage, finish reason and message_stop', () => {
    const { out, scanner } = run([Buffer.from(STREAM)]);
    expect(out).toBe(STREAM);
    expect(scanner.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    expect(scanner.finishReason).toBe('length');
    expect(scanner.sawStop).toBe(true);
    expect(scanner.upstreamError).toBeUndefined();
  });

  it('gives the same result for every split of the stream, holding back partial events', () => {
    const bytes = Buffer.from(STREAM);
    for (let size = 1; size <= 40; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const { out, scanner } = run(chunks);
      expect(out).toBe(STREAM);
      expect(scanner.usage?.total_tokens).toBe(15);
      expect(scanner.sawStop).toBe(true);
    }
  });

  it('returns a chunk that ends on an event boundary as the same Buffer (no copy)', () => {
    const scanner = new AnthropicSseScanner();
    const chunk = Buffer.from(delta('x'));
    expect(scanner.push(chunk)).toBe(chunk);
    expect(scanner.atEventBoundary).toBe(true);
    expect(scanner.push(Buffer.from('event: content_block_delta\ndata: {"ty'))).toBeUndefined();
    expect(scanner.atEventBoundary).toBe(false);
  });

  it('takes input_tokens from message_start when message_delta has none; no usage without output_tokens', () => {
    const noInput = ev('message_delta', '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}');
    expect(run([Buffer.from(START + noInput + STOP)]).scanner.usage).toEqual({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    const cut = run([Buffer.from(START + BLOCK + delta('a'))]).scanner;
    expect(cut.usage).toBeUndefined();
    expect(cut.sawStop).toBe(false);
  });

  it('maps stop reasons to the finish reasons the request log uses', () => {
    for (const [stop, finish] of [['end_turn', 'stop'], ['stop_sequence', 'stop'], ['tool_use', 'tool_calls'], ['refusal', 'refusal']]) {
      const md = ev('message_delta', `{"type":"message_delta","delta":{"stop_reason":"${stop}"},"usage":{"output_tokens":1}}`);
      expect(run([Buffer.from(START + md + STOP)]).scanner.finishReason).toBe(finish);
    }
  });

  it("holds back vLLM's error event and keeps its message for the logs", () => {
    const error = ev('error', '{"type":"error","error":{"type":"internal_error","message":"3 validation errors for ChatCompletionStreamResponse"}}');
    const { out, scanner } = run([Buffer.from(START + delta('a') + error)]);
    expect(out).toBe(START + delta('a'));
    expect(scanner.upstreamError).toContain('validation errors');
    expect(scanner.sawStop).toBe(false);
  });

  it('passes comments and pings through', () => {
    const text = `: ping\n\n${ev('ping', '{"type":"ping"}')}${START}${STOP}`;
    expect(run([Buffer.from(text)]).out).toBe(text);
  });
});

describe('readAnthropicMessage', () => {
  it("reads the message's own usage and stop_reason, not keys inside a tool_use input", () => {
    const body = Buffer.from(
      '{"id":"chatcmpl-1","type":"message","role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"stop_reason":"x","usage":{"input_tokens":1,"output_tokens":1}}}],"model":"m","stop_reason":"tool_use","usage":{"input_tokens":20,"output_tokens":7}}',
    );
    expect(readAnthropicMessage(body)).toEqual({ usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 }, finishReason: 'tool_calls' });
  });

  it('is unknown when the body has no usage', () => {
    expect(readAnthropicMessage(Buffer.from('{"input_tokens":5}'))).toEqual({ usage: undefined, finishReason: undefined });
  });
});
