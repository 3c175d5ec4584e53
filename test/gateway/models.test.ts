import { describe, expect, it } from 'vitest';
import { modelList } from '../../gateway/models.js';
import type { ServedModel } from '../../gateway/upstream/readiness.js';

const served: ServedModel[] = [
  { id: 'qwen2.5-7b-instruct', maxModelLen: 16384, card: { id: 'qwen2.5-7b-instruct', object: 'model', root: '/models/qwen', max_model_len: 16384 } },
  { id: 'qwen', maxModelLen: 16384, card: { id: 'qwen', object: 'model', root: '/models/qwen', max_model_len: 16384 } },
];
const aliases = new Map([
  ['gpt-4o-mini', 'qwen2.5-7b-instruct'],
  ['dangling', 'not-served'],
]);

describe('modelList', () => {
  it("lists vLLM's cards then one card per servable alias", () => {
    const list = modelList(served, aliases);
    expect(list.data.map((m) => m.id)).toEqual(['qwen2.5-7b-instruct', 'qwen', 'gpt-4o-mini']);
    expect(list.data[2]).toMatchObject({ object: 'model', parent: 'qwen2.5-7b-instruct', root: '/models/qwen', max_model_len: 16384 });
  });
});
