/** The prompt-token guess used for rate-limit reservations: bytes / 4 of the text plus ChatML overhead. */
import { describe, expect, it } from 'vitest';
import { estimatePromptTokens } from '../../gateway/token-estimate.js';

const forty = 'abcd'.repeat(10);

describe('chat', () => {
  it('counts text / 4 plus 4 tokens a message and 3 for the reply header', () => {
    expect(estimatePromptTokens({ messages: [{ role: 'user', content: forty }] }, 'chat')).toBe(3 + 4 + 10);
    expect(estimatePromptTokens({ messages: [{ role: 'system', content: forty }, { role: 'user', content: forty }] }, 'chat')).toBe(3 + 8 + 20);
  });

  it('counts the text of content parts, not images', () => {
    const content = [{ type: 'text', text: forty }, { type: 'image_url', image_url: { url: 'x'.repeat(4000) } }];
    expect(estimatePromptTokens({ messages: [{ role: 'user', content }] }, 'chat')).toBe(3 + 4 + 10);
  });

  it('counts tool calls, names and tool definitions', () => {
    const call = { id: 'c', type: 'function', function: { name: 'abcd', arguments: forty } };
    const withCall = estimatePromptTokens({ messages: [{ role: 'assistant', content: null, tool_calls: [call] }] }, 'chat');
    expect(withCall).toBe(3 + 4 + 11);
    const tools = [{ type: 'function', function: { name: 'get_weather' } }];
    const withTools = estimatePromptTokens({ messages: [{ role: 'user', content: forty }], tools }, 'chat');
    expect(withTools).toBe(3 + 4 + Math.ceil((40 + JSON.stringify(tools).length) / 4));
  });

  it('weighs CJK text by its UTF-8 bytes (about 0.75 tokens a character), not characters / 4', () => {
    expect(estimatePromptTokens({ messages: [{ role: 'user', content: '你好世界你好世界' }] }, 'chat')).toBe(3 + 4 + 6);
  });

  it('survives odd shapes without throwing', () => {
    expect(estimatePromptTokens({}, 'chat')).toBe(3);
    expect(estimatePromptTokens({ messages: [null, 'x', { content: 5 }] }, 'chat')).toBe(3 + 4);
  });
});

describe('completion', () => {
  it.each([
    ['a string', forty, 10],
    ['strings', [forty, 'abc'], 11],
    ['token ids, exactly', [1, 2, 3, 4, 5], 5],
    ['token-id arrays, exactly', [[1, 2], [3]], 3],
    ['nothing (prompt_embeds)', undefined, 0],
    ['CJK by UTF-8 bytes', '你好世界你好世界', 6],
  ])('counts %s', (_name, prompt, want) => {
    expect(estimatePromptTokens({ prompt }, 'completion')).toBe(want);
  });
});
