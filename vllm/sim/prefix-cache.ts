/**
 * @module sim/prefix-cache
 * vLLM's automatic prefix caching, reduced to what a router can observe (vLLM docs "Automatic Prefix
 * Caching"; `vllm/v1/core/kv_cache_utils.py` hash_block_tokens, `kv_cache_manager.py` get_computed_blocks):
 *
 * - A prompt's token ids are cut into blocks of `blockSize` tokens. Each full block gets a hash chained to
 *   the block before it, so a block hash stands for the whole prefix up to its end. A partial last block is
 *   never cached.
 * - When a request is admitted (gets a slot), its leading blocks are looked up: the run of hashes already in
 *   the cache, at most floor((n - 1) / blockSize) blocks, because vLLM always recomputes the last prompt
 *   token to produce logits. Then all its full blocks are cached (or refreshed).
 * - The cache lives in the KV blocks: it holds at most `kvCacheBlocks` hashes and forgets the least
 *   recently used first. (vLLM never evicts a block a running request holds; the simulator does not model
 *   that pinning.)
 * - vllm:prefix_cache_queries counts the prompt tokens looked up, vllm:prefix_cache_hits the tokens found,
 *   both in tokens as vLLM's PrefixCacheStats do (vllm.md 7). TTFT then charges prefill only for the
 *   uncached tokens (run.ts).
 *
 * Hashes: two 32-bit FNV-style chains over the token ids, folded into one 53-bit number (a Map key without
 * allocation). Text prompts are hashed through the same token ids /tokenize reports, so a text prompt and
 * its token-id form share blocks.
 */
import { scanTokenIds } from './text.js';

/** One token sequence the engine prefills: its length and the chained hashes of its full blocks. */
export interface PromptSeq {
  tokens: number;
  blocks: readonly number[];
}

const PRIME_A = 0x01000193;
const PRIME_B = 0x5bd1e995;
/** 2^21: h1 fills the high 32 bits of a 53-bit key, h2 the low 21. */
const HIGH = 0x200000;

class BlockChain {
  readonly #blockSize: number;
  readonly blocks: number[] = [];
  #h1 = 0x811c9dc5;
  #h2 = 0x9747b28c;
  #inBlock = 0;
  tokens = 0;

  constructor(blockSize: number) {
    this.#blockSize = blockSize;
  }

  push(id: number): void {
    this.#h1 = Math.imul(this.#h1 ^ id, PRIME_A);
    let k = Math.imul(id, PRIME_B);
    k ^= k >>> 24;
    this.#h2 = Math.imul(this.#h2, PRIME_B) ^ Math.imul(k, PRIME_B);
    this.tokens++;
    if (++this.#inBlock === this.#blockSize) {
      this.#inBlock = 0;
      this.blocks.push((this.#h1 >>> 0) * HIGH + ((this.#h2 >>> 0) >>> 11));
    }
  }
}

/** The sequence of a text prompt, tokenized as /tokenize does (text.ts). */
export function textSequence(text: string, blockSize: number): PromptSeq {
  const chain = new BlockChain(blockSize);
  scanTokenIds(text, chain);
  return { tokens: chain.tokens, blocks: chain.blocks };
}

/** The sequence of a token-id prompt. */
export function idSequence(ids: readonly number[], blockSize: number): PromptSeq {
  const chain = new BlockChain(blockSize);
  for (const id of ids) chain.push(id);
  return { tokens: chain.tokens, blocks: chain.blocks };
}

export interface PrefixLookup {
  /** Prompt tokens looked up (0 with caching off). */
  queried: number;
  /** Of those, tokens whose KV came from the cache. */
  hit: number;
}

export class PrefixCache {
  readonly #enabled: boolean;
  readonly #blockSize: number;
  readonly #capacity: number;
  /** Insertion order is recency order: a hit or a re-insert moves the hash to the end. */
  readonly #lru = new Map<number, true>();

  constructor(enabled: boolean, blockSize: number, capacityBlocks: number) {
    this.#enabled = enabled;
    this.#blockSize = blockSize;
    this.#capacity = capacityBlocks;
  }

  get size(): number {
    return this.#lru.size;
  }

  /** At admission: finds the cached leading blocks of each prompt, then caches all their full blocks. */
  admit(prompts: readonly PromptSeq[]): PrefixLookup {
    if (!this.#enabled) return { queried: 0, hit: 0 };
    let queried = 0;
    let hit = 0;
    for (const p of prompts) {
      queried += p.tokens;
      const lookable = Math.min(p.blocks.length, Math.floor((p.tokens - 1) / this.#blockSize));
      let found = 0;
      while (found < lookable && this.#lru.has(p.blocks[found] as number)) found++;
      hit += found * this.#blockSize;
      for (const block of p.blocks) {
        this.#lru.delete(block);
        this.#lru.set(block, true);
      }
      while (this.#lru.size > this.#capacity) this.#lru.delete(this.#lru.keys().next().value as number);
    }
    return { queried, hit };
  }

  /** vLLM's /reset_prefix_cache (dev mode); for tests. */
  reset(): void {
    this.#lru.clear();
  }
}
