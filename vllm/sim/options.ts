/**
 * @module sim/options
 * The simulator's knobs and their resolution, once, into a frozen config.
 */
import { parseFaultOption, type FaultSpec } from './faults.js';

export interface SimulatorOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0: a free ephemeral port is picked up front, so `url` is known while the model "loads". */
  port?: number;
  /** The --model value (path or HF id); shows as `root` in /v1/models. */
  model?: string;
  /** Default ["qwen2.5-7b-instruct"]; the first appears in responses and metrics. */
  servedModelNames?: string[];
  /** Default 16384. */
  maxModelLen?: number;
  /** Default 32; beyond it requests wait in an unbounded FIFO queue (vLLM never 429s). */
  maxNumSeqs?: number;
  /** --api-key; empty/undefined = no auth. */
  apiKeys?: string[];
  /** Default true (our launch uses --enable-auto-tool-choice --tool-call-parser hermes). */
  enableAutoToolChoice?: boolean;
  /** Simulated model load: the port refuses connections this long (vllm.md 1.1). Default 0. */
  loadMs?: number;
  /**
   * Time to first token after the request gets a slot, before prefill: the fixed part (scheduling, the first
   * decode step). Default 20. The whole TTFT is ttftMs + prefillMsPerToken x uncached prompt tokens.
   */
  ttftMs?: number;
  /**
   * Prefill time per prompt token that the prefix cache did not hold (a float, ms). Default 0.01, so short
   * prompts cost nothing measurable; set e.g. 0.5 (about a T4's 2k tokens/s) to make the cache matter.
   */
  prefillMsPerToken?: number;
  /** KV-cache block size in tokens (--block-size). Default 16, vLLM's default on CUDA. */
  blockSize?: number;
  /**
   * KV-cache capacity in blocks (--num-gpu-blocks-override). Default: about 100k tokens, what fits on a T4
   * with this model (vllm.md 8), never less than one full context. Bounds the prefix cache as well.
   */
  kvCacheBlocks?: number;
  /** Automatic prefix caching (--enable-prefix-caching / --no-enable-prefix-caching). Default true, as in V1 (vllm.md 8). */
  enablePrefixCaching?: boolean;
  /** Inter-token latency. Default 5; 0 = as fast as the socket takes it. */
  itlMs?: number;
  /**
   * The natural output length (the EOS token included) when max_tokens does not cut it first. Default 32.
   * Deviation: vLLM would generate until the model emits EOS, up to max_model_len.
   */
  outputTokens?: number;
  /** Tokens per SSE event after the first. Default 1 (vLLM merges deltas when the consumer is slow, vllm.md 4). */
  tokensPerChunk?: number;
  /** Faults applied to every request, same names as the prompt markers (see faults.ts). */
  fault?: string;
  /** After killEngine(): /health answers 503 this long, then the server closes. Default 2000. */
  deathExitMs?: number;
}

export interface SimConfig {
  readonly host: string;
  readonly port: number;
  readonly model: string;
  readonly servedModelNames: readonly string[];
  /** The first served name: the `model` of every response and the metrics label. */
  readonly modelName: string;
  readonly maxModelLen: number;
  readonly maxNumSeqs: number;
  readonly apiKeys: readonly string[];
  readonly enableAutoToolChoice: boolean;
  readonly loadMs: number;
  readonly ttftMs: number;
  readonly prefillMsPerToken: number;
  readonly itlMs: number;
  readonly outputTokens: number;
  readonly tokensPerChunk: number;
  readonly fault: Readonly<FaultSpec>;
  readonly deathExitMs: number;
  readonly blockSize: number;
  /** KV-cache capacity in blocks: the denominator of vllm:kv_cache_usage_perc and the prefix cache's bound. */
  readonly kvCacheBlocks: number;
  /** kvCacheBlocks x blockSize. */
  readonly kvCacheTokens: number;
  readonly enablePrefixCaching: boolean;
}

export const DEFAULT_MODEL = 'Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4';
export const DEFAULT_SERVED_NAME = 'qwen2.5-7b-instruct';
/** What /version reports; "+sim" marks answers that came from the simulator. */
export const SIM_VLLM_VERSION = '0.26.0+sim';
const T4_KV_TOKENS = 100_000;

export function resolveOptions(options: SimulatorOptions = {}): SimConfig {
  const served = options.servedModelNames?.filter((n) => n.length > 0) ?? [];
  const servedModelNames = served.length > 0 ? served : [DEFAULT_SERVED_NAME];
  const maxModelLen = int('maxModelLen', options.maxModelLen, 16_384, 1);
  const blockSize = int('blockSize', options.blockSize, 16, 1, 1024);
  const kvCacheBlocks = int('kvCacheBlocks', options.kvCacheBlocks, Math.ceil(Math.max(T4_KV_TOKENS, maxModelLen) / blockSize), 1);
  return Object.freeze({
    host: options.host ?? '127.0.0.1',
    port: int('port', options.port, 0, 0, 65_535),
    model: options.model ?? DEFAULT_MODEL,
    servedModelNames: Object.freeze(servedModelNames),
    modelName: servedModelNames[0] as string,
    maxModelLen,
    maxNumSeqs: int('maxNumSeqs', options.maxNumSeqs, 32, 1),
    apiKeys: Object.freeze((options.apiKeys ?? []).filter((k) => k.length > 0)),
    enableAutoToolChoice: options.enableAutoToolChoice ?? true,
    loadMs: int('loadMs', options.loadMs, 0, 0),
    ttftMs: int('ttftMs', options.ttftMs, 20, 0),
    prefillMsPerToken: nonNegative('prefillMsPerToken', options.prefillMsPerToken, 0.01),
    itlMs: int('itlMs', options.itlMs, 5, 0),
    outputTokens: int('outputTokens', options.outputTokens, 32, 1),
    tokensPerChunk: int('tokensPerChunk', options.tokensPerChunk, 1, 1),
    fault: Object.freeze(parseFaultOption(options.fault)),
    deathExitMs: int('deathExitMs', options.deathExitMs, 2_000, 0),
    blockSize,
    kvCacheBlocks,
    kvCacheTokens: kvCacheBlocks * blockSize,
    enablePrefixCaching: options.enablePrefixCaching ?? true,
  });
}

function int(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`simulator option ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`simulator option ${name} must be a number >= 0, got ${String(value)}`);
  return value;
}
