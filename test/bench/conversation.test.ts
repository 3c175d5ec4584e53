import { describe, expect, it } from 'vitest';
import { Conversation, seededWords } from '../../scripts/bench/conversation.js';

type Body = { model: string; max_tokens: number; messages: { role: string; content: string }[] };
const template = JSON.stringify({ model: 'm', max_tokens: 32, stream: true, messages: [{ role: 'user', content: 'ignored' }] });
const spec = { runId: 'run1', prefixWords: 1000, turnWords: 30, maxTurns: 3 };

describe('seededWords', () => {
  it('gives the same words for the same seed and different words for another', () => {
    expect(seededWords('a', 50)).toBe(seededWords('a', 50));
    expect(seededWords('a', 50)).not.toBe(seededWords('b', 50));
    expect(seededWords('a', 1000).split(' ')).toHaveLength(1000);
  });
});

describe('Conversation', () => {
  it('re-sends every earlier message and adds an answer and a new turn each time', () => {
    const c = new Conversation(spec, template, 0);
    const first = c.next();
    const second = c.next();
    const a = JSON.parse(first.body) as Body;
    const b = JSON.parse(second.body) as Body;
    expect(a.model).toBe('m');
    expect(a.max_tokens).toBe(32);
    expect(a.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(b.messages.slice(0, 2)).toEqual(a.messages);
    expect(b.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(second.sessionId).toBe(first.sessionId);
    expect(a.messages[0]?.content.split(' ').length).toBeGreaterThan(1000);
  });

  it('starts a new session, with its own prefix, after maxTurns', () => {
    const c = new Conversation(spec, template, 7);
    const ids = Array.from({ length: 4 }, () => c.next());
    expect(new Set(ids.slice(0, 3).map((x) => x.sessionId)).size).toBe(1);
    expect(ids[3]?.sessionId).not.toBe(ids[0]?.sessionId);
    expect((JSON.parse(ids[3]!.body) as Body).messages).toHaveLength(2);
  });

  it('gives each connection and each run its own sessions', () => {
    const x = new Conversation(spec, template, 0).next();
    const y = new Conversation(spec, template, 1).next();
    const z = new Conversation({ ...spec, runId: 'run2' }, template, 0).next();
    expect(new Set([x.sessionId, y.sessionId, z.sessionId]).size).toBe(3);
    expect((JSON.parse(x.body) as Body).messages[0]?.content).not.toBe((JSON.parse(y.body) as Body).messages[0]?.content);
  });
});
