/**
 * @module sim/metrics
 * The `vllm:*` Prometheus metrics a router reads (vllm.md 7), with vLLM's names, label order
 * (`model_name` then `engine`) and Python-style float values. Clocks: TTFT runs from the request's
 * arrival (queue wait included) to its first token; e2e latency from arrival to its last byte.
 * Token counters: prompt_tokens at prefill, generation_tokens when the request ends; prefix_cache_queries /
 * prefix_cache_hits in tokens at admission (prefix-cache.ts). The per-request histograms request_prompt_tokens
 * and request_generation_tokens are observed once per finished request (finished_reason stop, length or
 * abort; vLLM gives them no finished_reason label), with vLLM's 1-2-5 buckets up to max_model_len.
 * Not emitted: inter-token latency (it would cost work per token) and the HTTP instrumentator metrics.
 */
import type { SimConfig } from './options.js';

export type FinishedReason = 'stop' | 'length' | 'abort' | 'error';

/** vLLM's bucket bounds, in seconds. */
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const E2E_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

export class Histogram {
  readonly bounds: readonly number[];
  /** Per-bucket (non-cumulative) counts; the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
    this.count++;
  }
}

export interface LoadGauges {
  running: number;
  waiting: number;
  /** A fraction 0..1, despite the metric's name. */
  kvCacheUsage: number;
}

/** vLLM's build_1_2_5_buckets(max_model_len): 1, 2, 5, 10, 20, 50, … while <= the limit. */
function oneTwoFiveBuckets(max: number): number[] {
  const out: number[] = [];
  for (let exponent = 1; ; exponent *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exponent > max) return out;
      out.push(m * exponent);
    }
  }
}

type MetricsConfig = Pick<SimConfig, 'modelName' | 'maxModelLen' | 'blockSize' | 'kvCacheBlocks' | 'enablePrefixCaching'>;

export class SimMetrics {
  readonly #labels: string;
  readonly #cacheInfo: string;
  promptTokens = 0;
  generationTokens = 0;
  prefixCacheQueries = 0;
  prefixCacheHits = 0;
  readonly success: Record<FinishedReason, number> = { stop: 0, length: 0, abort: 0, error: 0 };
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly e2e = new Histogram(E2E_BUCKETS);
  readonly requestPromptTokens: Histogram;
  readonly requestGenerationTokens: Histogram;

  constructor(config: MetricsConfig) {
    this.#labels = `model_name="${escapeLabel(config.modelName)}",engine="0"`;
    // An info gauge of CacheConfig fields (a subset), as routers read block_size from it.
    this.#cacheInfo = `block_size="${config.blockSize}",enable_prefix_caching="${config.enablePrefixCaching ? 'True' : 'False'}",engine="0",num_gpu_blocks="${config.kvCacheBlocks}"`;
    const buckets = oneTwoFiveBuckets(config.maxModelLen);
    this.requestPromptTokens = new Histogram(buckets);
    this.requestGenerationTokens = new Histogram(buckets);
  }

  /** One finished request (stop, length, abort): its counters and per-request histograms. */
  finished(reason: FinishedReason, promptTokens: number, generated: number, e2eSeconds: number): void {
    this.success[reason]++;
    this.generationTokens += generated;
    this.e2e.observe(e2eSeconds);
    this.requestPromptTokens.observe(promptTokens);
    this.requestGenerationTokens.observe(generated);
  }

  render(load: LoadGauges): string {
    const l = this.#labels;
    const out: string[] = [];
    gauge(out, 'vllm:num_requests_running', 'Number of requests in model execution batches.', l, load.running);
    gauge(out, 'vllm:num_requests_waiting', 'Number of requests waiting to be processed.', l, load.waiting);
    gauge(out, 'vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', l, load.kvCacheUsage);
    counter(out, 'vllm:prompt_tokens', 'Number of prefill tokens processed.', [[l, this.promptTokens]]);
    counter(out, 'vllm:generation_tokens', 'Number of generation tokens processed.', [[l, this.generationTokens]]);
    counter(out, 'vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', [[l, this.prefixCacheQueries]]);
    counter(out, 'vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', [[l, this.prefixCacheHits]]);
    counter(
      out,
      'vllm:request_success',
      'Count of successfully processed requests.',
      (Object.keys(this.success) as FinishedReason[]).map((r) => [`${l},finished_reason="${r}"`, this.success[r]]),
    );
    histogram(out, 'vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', l, this.ttft);
    histogram(out, 'vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', l, this.e2e);
    histogram(out, 'vllm:request_prompt_tokens', 'Number of prefill tokens processed.', l, this.requestPromptTokens);
    histogram(out, 'vllm:request_generation_tokens', 'Number of generation tokens processed.', l, this.requestGenerationTokens);
    out.push('# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig', '# TYPE vllm:cache_config_info gauge', `vllm:cache_config_info{${this.#cacheInfo}} 1.0`);
    return out.join('\n') + '\n';
  }
}

function gauge(out: string[], name: string, help: string, labels: string, value: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${labels}} ${pyNumber(value)}`);
}

function counter(out: string[], name: string, help: string, series: ReadonlyArray<readonly [string, number]>): void {
  out.push(`# HELP ${name}_total ${help}`, `# TYPE ${name}_total counter`);
  for (const [labels, value] of series) out.push(`${name}_total{${labels}} ${pyNumber(value)}`);
}

function histogram(out: string[], name: string, help: string, labels: string, h: Histogram): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  let cumulative = 0;
  h.bounds.forEach((bound, i) => {
    cumulative += h.counts[i] as number;
    out.push(`${name}_bucket{${labels},le="${pyNumber(bound)}"} ${pyNumber(cumulative)}`);
  });
  out.push(`${name}_bucket{${labels},le="+Inf"} ${pyNumber(h.count)}`);
  out.push(`${name}_count{${labels}} ${pyNumber(h.count)}`, `${name}_sum{${labels}} ${pyNumber(h.sum)}`);
}

/** prometheus_client prints floats the Python way: 3 → "3.0". */
function pyNumber(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
