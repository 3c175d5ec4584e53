/**
 * The simulator's deterministic "model": the same seed always yields the same words, outputs grow by
 * prefix, and the tokenizer approximation and tool arguments are stable.
 */
import { describe, expect, it } from 'vitest';
import { countTokens, simulatedText, tokenize, toolArguments, WordStream } from '../../vllm/sim/text.js';

describe('simulatedText', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(simulatedText('Say hi', 12)).toBe(simulatedText('Say hi', 12));
    expect(simulatedText('Say hi', 12)).not.toBe(simulatedText('Say ho', 12));
  });

  it('has one word per token, single spaces between, no leading space', () => {
    const text = simulatedText('words', 20);
    expect(text.split(' ')).toHaveLength(20);
    expect(text).toMatch(/^[a-z]+( [a-z]+){19}$/);
    expect(simulatedText('words', 0)).toBe('');
  });

  it('grows by prefix: n tokens are the start of n + 1 tokens', () => {
    for (let n = 0; n < 30; n++) expect(simulatedText('prefix', n + 1).startsWith(simulatedText('prefix', n))).toBe(true);
  });

  it('matches the documented rule: FNV-1a of the seed drives xorshift32 over a fixed word list', () => {
    // Pinned values: changing the rule would silently break every test that asserts content.
    expect(simulatedText('Say hi', 6)).toBe('fox river brown then keeps skies');
    const words = new WordStream('Say hi');
    expect([words.next(), words.next()]).toEqual(['fox', ' river']);
  });
});

describe('tokenizer approximation', () => {
  it('counts words, digits, punctuation and ChatML specials as tokens', () => {
    expect(countTokens('Hello, world!')).toBe(4);
    expect(countTokens('2024')).toBe(4);
    expect(countTokens('<|im_start|>user\nhi<|im_end|>')).toBe(4);
    expect(countTokens('中文')).toBe(2);
    expect(countTokens('')).toBe(0);
  });

  it('gives stable ids, specials with their Qwen ids', () => {
    const a = tokenize('<|im_start|>hello world');
    expect(a.ids[0]).toBe(151644);
    expect(a.pieces).toEqual(['<|im_start|>', 'hello', 'world']);
    expect(tokenize('hello').ids[0]).toBe(a.ids[1]);
  });
});

describe('tool arguments', () => {
  it('fills each property by type, in Python json.dumps spacing, deterministically', () => {
    const params = { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, unit: { enum: ['c', 'f'] }, metric: { type: 'boolean' } } };
    const args = toolArguments('get_weather', params);
    expect(args).toBe(toolArguments('get_weather', params));
    expect(args).toMatch(/^\{"city": "[A-Z][a-z]+", "days": \d+, "unit": "c", "metric": true\}$/);
    expect(JSON.parse(args)).toMatchObject({ unit: 'c', metric: true });
  });

  it('gives {} for a tool without parameters', () => {
    expect(toolArguments('ping', undefined)).toBe('{}');
  });
});
