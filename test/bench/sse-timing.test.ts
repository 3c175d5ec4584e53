import { describe, expect, it } from 'vitest';
import { isTokenPayload, SseTimer, usageCompletionTokens } from '../../scripts/bench/sse-timing.js';

const role = 'data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n';
const token = (t: string): string => `data: {"id":"c","choices":[{"index":0,"delta":{"content":"${t}"},"finish_reason":null}]}\n\n`;
const usage = 'data: {"id":"c","choices":[],"usage":{"prompt_tokens":24,"total_tokens":27,"completion_tokens":3}}\n\n';
const done = 'data: [DONE]\n\n';

describe('isTokenPayload', () => {
  it('sees generated text in chat content, completion text and tool-call arguments', () => {
    expect(isTokenPayload('{"choices":[{"delta":{"content":"hi"}}]}')).toBe(true);
    expect(isTokenPayload('{"choices":[{"text":" world","index":0}]}')).toBe(true);
    expect(isTokenPayload('{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\\"a"}}]}}]}')).toBe(true);
  });

  it('does not count the role chunk, empty text or the usage chunk', () => {
    expect(isTokenPayload('{"choices":[{"delta":{"role":"assistant","content":""}}]}')).toBe(false);
    expect(isTokenPayload('{"choices":[{"text":"","index":0}]}')).toBe(false);
    expect(isTokenPayload('{"choices":[],"usage":{"completion_tokens":3}}')).toBe(false);
  });

  it('looks past an empty field to a later non-empty one', () => {
    expect(isTokenPayload('{"a":{"content":""},"b":{"content":"x"}}')).toBe(true);
  });
});

describe('usageCompletionTokens', () => {
  it('reads completion_tokens of the usage object only', () => {
    expect(usageCompletionTokens('{"choices":[],"usage":{"prompt_tokens":24,"completion_tokens":17}}')).toBe(17);
    expect(usageCompletionTokens('{"choices":[{"delta":{"content":"x"}}]}')).toBeUndefined();
  });
});

describe('SseTimer', () => {
  it('times each token event at the arrival of the chunk that completes it', () => {
    const times: number[] = [];
    const t = new SseTimer((at) => times.push(at));
    t.feed(role, 1);
    t.feed(token('a'), 2);
    t.feed(token('b') + token('c'), 3); // two events in one read share a time
    t.feed(usage, 4);
    t.feed(done, 5);
    expect(times).toEqual([2, 3, 3]);
    expect(t.tokenEvents).toBe(3);
    expect(t.firstTokenAt).toBe(2);
    expect(t.completionTokens).toBe(3);
    expect(t.done).toBe(true);
    expect(t.errorEvent).toBe(false);
  });

  it('joins an event split across reads, at the time its last piece arrives', () => {
    const times: number[] = [];
    const t = new SseTimer((at) => times.push(at));
    const event = token('split');
    t.feed(event.slice(0, 20), 10);
    t.feed(event.slice(20, 40), 11);
    expect(times).toEqual([]);
    t.feed(event.slice(40), 12);
    expect(times).toEqual([12]);
  });

  it('accepts CRLF line ends and data: without a space', () => {
    const t = new SseTimer();
    t.feed('data:{"choices":[{"delta":{"content":"x"}}]}\r\n\r\ndata: [DONE]\r\n\r\n', 1);
    expect(t.tokenEvents).toBe(1);
    expect(t.done).toBe(true);
  });

  it('ignores comments and other fields, and notes an in-stream error event', () => {
    const t = new SseTimer();
    t.feed(': keep-alive\n\nevent: message\nid: 1\n', 1);
    expect(t.tokenEvents).toBe(0);
    t.feed('data: {"error":{"message":"boom","type":"server_error"}}\n\n', 2);
    expect(t.errorEvent).toBe(true);
    expect(t.done).toBe(false);
  });

  it('does not take a [DONE] that has not ended its line', () => {
    const t = new SseTimer();
    t.feed('data: [DONE]', 1);
    expect(t.done).toBe(false);
    t.feed('\n\n', 2);
    expect(t.done).toBe(true);
  });
});

describe('SseTimer, Responses dialect', () => {
  const ev = (type: string, fields: string): string => `event: ${type}\ndata: {"type":"${type}",${fields},"sequence_number":0}\n\n`;
  const delta = (t: string): string => ev('response.output_text.delta', `"item_id":"msg_1","output_index":0,"content_index":0,"delta":"${t}","logprobs":[]`);

  it('counts one token event per non-empty output_text.delta and ends on response.incomplete', () => {
    const times: number[] = [];
    const t = new SseTimer((at) => times.push(at), 'responses');
    t.feed(ev('response.created', '"response":{"id":"r","output":[]}') + ev('response.in_progress', '"response":{"id":"r"}'), 1);
    t.feed(delta('a'), 2);
    t.feed(delta('') + delta('b'), 3);
    // output_text.done carries the whole text: not a token event.
    t.feed(ev('response.output_text.done', '"text":"ab"'), 4);
    expect(t.done).toBe(false);
    t.feed(ev('response.incomplete', '"response":{"usage":{"input_tokens":9,"output_tokens":2,"total_tokens":11}}'), 5);
    expect(times).toEqual([2, 3]);
    expect(t.done).toBe(true);
    expect(t.completionTokens).toBe(2);
    expect(t.errorEvent).toBe(false);
  });

  it('sees response.failed as an error and ignores [DONE]-style chat markers', () => {
    const t = new SseTimer(() => {}, 'responses');
    t.feed('data: [DONE]\n\n', 1);
    expect(t.done).toBe(false);
    t.feed(ev('response.failed', '"response":{"status":"failed"}'), 2);
    expect(t.errorEvent).toBe(true);
  });
});
