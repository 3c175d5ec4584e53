/**
 * @module bench/simulator
 * The upstream of every target: our vLLM simulator, started from its CLI as its own process (so its CPU
 * per request can be read apart from everything else), pinned to the upstream core, restarted for each
 * scenario with that scenario's timing.
 */
import { join } from 'node:path';
import { request } from 'undici';
import type { Scenario } from './plan.js';
import { freePort, startProcess, waitUntil, type Managed } from './processes.js';
import { BENCH_MODEL } from './targets.js';

export interface RunningSim {
  origin: string;
  port: number;
  proc: Managed;
}

export interface SimInstance {
  /** Names the log file. */
  name: string;
  /** Loopback address to listen on (127.0.0.2, 127.0.0.3 ... stand for separate machines). */
  host: string;
  ttftMs: number;
  itlMs: number;
  /** SIM_PREFILL_MS_PER_TOKEN; the simulator's default (0.01) when absent. */
  prefillMsPerToken?: number;
  maxNumSeqs: number;
}

/** One simulator from its CLI, pinned to `cpu`, ready once /health answers 200. */
export async function startSimInstance(root: string, tmp: string, o: SimInstance, cpu: number | undefined): Promise<RunningSim> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SIM_TTFT_MS: String(o.ttftMs),
    SIM_ITL_MS: String(o.itlMs),
    // Longer than any max_tokens we send, so max_tokens alone decides the length.
    SIM_OUTPUT_TOKENS: '4096',
    ...(o.prefillMsPerToken === undefined ? {} : { SIM_PREFILL_MS_PER_TOKEN: String(o.prefillMsPerToken) }),
  };
  const args = [
    join(root, 'dist', 'vllm', 'sim', 'cli.js'),
    'serve',
    'Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4',
    '--served-model-name',
    BENCH_MODEL,
    '--host',
    o.host,
    '--port',
    String(port),
    '--max-num-seqs',
    String(o.maxNumSeqs),
  ];
  const proc = startProcess({ name: 'simulator', command: process.execPath, args, env, cpu, logPath: join(tmp, `simulator-${o.name}.log`) });
  const origin = `http://${o.host}:${port}`;
  const healthy = async (): Promise<boolean> => {
    const res = await request(`${origin}/health`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
    await res.body.dump();
    return res.statusCode === 200;
  };
  try {
    await waitUntil(`simulator (log: ${proc.logPath})`, healthy, 20_000, proc.exited);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { origin, port, proc };
}

export function startSim(root: string, tmp: string, s: Scenario, cpu: number | undefined): Promise<RunningSim> {
  return startSimInstance(
    root,
    tmp,
    {
      name: s.id,
      host: '127.0.0.1',
      ttftMs: s.sim.ttftMs,
      itlMs: s.sim.itlMs,
      // Never the bottleneck: every request of the scenario gets a slot at once (plus the readiness probes).
      // Idle streams: room also for the streams a proxy leaves running upstream after its client left
      // (Portkey does, peers.md 3C), so one leaky target cannot starve the next.
      maxNumSeqs: s.mode === 'idle' ? 50_000 : Math.max(64, s.concurrency * 2),
    },
    cpu,
  );
}

/** Sum of the samples of one gauge in Prometheus text (all label sets); NaN when the gauge is absent. */
export function gaugeSum(text: string, name: string): number {
  let sum = Number.NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (Number.isNaN(sum) ? 0 : sum) + value;
  }
  return sum;
}

/** Requests the simulator is working on or holding in its queue (vLLM's running + waiting gauges). */
export async function simRequestsInFlight(origin: string): Promise<number> {
  const res = await request(`${origin}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await res.body.text();
  return gaugeSum(text, 'vllm:num_requests_running') + gaugeSum(text, 'vllm:num_requests_waiting');
}

/** Counter totals of one simulator, read from its /metrics (vllm.md 7), for deltas over a window. */
export interface SimCounters {
  prefixQueries: number;
  prefixHits: number;
  generationTokens: number;
  /** Requests finished (the count of the request_generation_tokens histogram). */
  requests: number;
}

export async function simCounters(origin: string): Promise<SimCounters> {
  const res = await request(`${origin}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await res.body.text();
  return {
    prefixQueries: gaugeSum(text, 'vllm:prefix_cache_queries_total'),
    prefixHits: gaugeSum(text, 'vllm:prefix_cache_hits_total'),
    generationTokens: gaugeSum(text, 'vllm:generation_tokens_total'),
    requests: gaugeSum(text, 'vllm:request_generation_tokens_count'),
  };
}
