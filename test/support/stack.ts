/**
 * A simulator and a gateway on ephemeral 127.0.0.1 ports, wired together the way production wires
 * vLLM and the gateway, with the gateway's log lines captured for assertions.
 */
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { parseConfig, type Config } from '../../gateway/config.js';
import { startGateway, type RunningGateway } from '../../gateway/server.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../vllm/sim/index.js';

export interface Stack {
  sim: Simulator;
  gw: RunningGateway;
  url: string;
  config: Config;
  /** Parsed JSON log lines written by the gateway so far. */
  logs: Array<Record<string, unknown>>;
  /** Raw log output, for "this secret never appears" assertions. */
  rawLogs: () => string;
  client: (apiKey?: string, options?: Partial<ConstructorParameters<typeof OpenAI>[0]>) => OpenAI;
  close: () => Promise<void>;
}

export interface StackOptions {
  sim?: SimulatorOptions;
  env?: Record<string, string>;
  /** Do not wait for vLLM readiness before returning. */
  noWait?: boolean;
  /** Keep no log lines (for tests that measure memory). */
  discardLogs?: boolean;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const sim = startSimulator({ ttftMs: 5, itlMs: 1, ...options.sim });
  if (!options.noWait) await sim.ready;
  const raw: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (options.discardLogs) return cb();
      const text = chunk.toString('utf8');
      raw.push(text);
      for (const line of text.split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const config = parseConfig({
    VLLM_URL: sim.url,
    PORT: '0',
    HOST: '127.0.0.1',
    ALLOW_ANONYMOUS: 'true',
    SHUTDOWN_GRACE_MS: '2000',
    READY_WAIT_MS: '3000',
    ...options.env,
  });
  const gw = await startGateway(config, { logDestination: destination, version: 'test' });
  if (!options.noWait) await gw.waitReady(5_000);
  const url = gw.url;
  return {
    sim,
    gw,
    url,
    config,
    logs,
    rawLogs: () => raw.join(''),
    client: (apiKey = 'unused', extra = {}) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 15_000, ...extra }),
    close: async () => {
      await gw.shutdown();
      await sim.close();
    },
  };
}

/** Resolves with the simulator's record of the next request that ends, or rejects after `ms`. */
export function nextRequestEnd(sim: Simulator, ms = 5_000): Promise<import('../../vllm/sim/index.js').SimRequestRecord> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no request ended within ${ms} ms`)), ms);
    sim.events.once('request-end', (rec) => {
      clearTimeout(timer);
      resolve(rec);
    });
  });
}

export function chatBody(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content }], max_tokens: 8, ...extra };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
