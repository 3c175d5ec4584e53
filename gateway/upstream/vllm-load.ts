/**
 * @module upstream/vllm-load
 * vLLM's own load, read from its Prometheus `/metrics` (vllm.md 7): running and waiting requests and
 * KV-cache usage. `kv_cache_usage_perc` is a fraction 0..1 despite its name; images before v0.10 call it
 * `gpu_cache_usage_perc`, so we read the new name and fall back to the old one. Each backend's scraper
 * (backends/load.ts) parses its /metrics with this.
 */

export interface VllmLoad {
  running: number | null;
  waiting: number | null;
  kvCacheUsage: number | null;
}

export function parseVllmLoad(text: string): VllmLoad {
  const read = (name: string): number | null => {
    let sum: number | null = null;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (rest[0] !== '{' && rest[0] !== ' ') continue;
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(value)) sum = (sum ?? 0) + value;
    }
    return sum;
  };
  return {
    running: read('vllm:num_requests_running'),
    waiting: read('vllm:num_requests_waiting'),
    kvCacheUsage: read('vllm:kv_cache_usage_perc') ?? read('vllm:gpu_cache_usage_perc'),
  };
}
