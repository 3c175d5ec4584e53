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

export async function startSim(root: string, tmp: string, s: Scenario, cpu: number | undefined): Promise<RunningSim> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SIM_TTFT_MS: String(s.sim.ttftMs),
    SIM_ITL_MS: String(s.sim.itlMs),
    // Longer than any max_tokens we send, so max_tokens alone decides the length.
    SIM_OUTPUT_TOKENS: '4096',
  };
  const args = [
    join(root, 'dist', 'vllm', 'sim', 'cli.js'),
    'serve',
    'Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4',
    '--served-model-name',
    BENCH_MODEL,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    // Never the bottleneck: every request of the scenario gets a slot at once (plus the readiness probes).
    // Idle streams: room also for the streams a proxy leaves running upstream after its client left
    // (Portkey does, peers.md 3C), so one leaky target cannot starve the next.
    '--max-num-seqs',
    String(s.mode === 'idle' ? 50_000 : Math.max(64, s.concurrency * 2)),
  ];
  const proc = startProcess({ name: 'simulator', command: process.execPath, args, env, cpu, logPath: join(tmp, `simulator-${s.id}.log`) });
  const origin = `http://127.0.0.1:${port}`;
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
