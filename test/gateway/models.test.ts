import { describe, expect, it } from 'vitest';
import { modelList, resolveModel } from '../../gateway/models.js';
import type { ServedModel } from '../../gateway/upstream/readiness.js';

const served: ServedModel[] = [
  { id: 'qwen2.5-7b-instruct', maxModelLen: 16384, card: { id: 'qwen2.5-7b-instruct', object: 'model', root: '/models/qwen', max_model_len: 16384 } },
  { id: 'qwen', maxModelLen: 16384, card: { id: 'qwen', object: 'model', root: '/models/qwen', max_model_len: 16384 } },
];
const aliases = new Map([
  ['gpt-4o-mini', 'qwen2.5-7b-instruct'],
  ['dangling', 'not-served'],
]);

describe('resolveModel', () => {
  it('uses the first served model when none is given (vllm.md 2.1)', () => {
    expect(resolveModel(undefined, served, aliases)).toBe('qwen2.5-7b-instruct');
  });
  it('accepts any served name and maps aliases', () => {
    expect(resolveModel('qwen', served, aliases)).toBe('qwen');
    expect(resolveModel('gpt-4o-mini', served, aliases)).toBe('qwen2.5-7b-instruct');
  });
  it('answers 404 model_not_found for unknown names and aliases to unserved models', () => {
    for (const name of ['gpt-5', 'dangling']) {
      try {
        resolveModel(name, served, aliases);
        expect.unreachable();
      } catch (err) {
        expect(err).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
      }
    }
  });
});

describe('modelList', () => {
  it("lists vLLM's cards then one card per servable alias", () => {
    const list = modelList(served, aliases);
    expect(list.data.map((m) => m.id)).toEqual(['qwen2.5-7b-instruct', 'qwen', 'gpt-4o-mini']);
    expect(list.data[2]).toMatchObject({ object: 'model', parent: 'qwen2.5-7b-instruct', root: '/models/qwen', max_model_len: 16384 });
  });
});
