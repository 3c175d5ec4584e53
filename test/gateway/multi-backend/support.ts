/**
 * Several simulators (in-process, or CLI processes a test can SIGKILL) behind one gateway on loopback,
 * with the gateway's log lines captured, for the end-to-end tests of issue 10 (several vLLM backends).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { parseConfig, type Config } from '../../../gateway/config.js';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../../gateway/server.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../../vllm/sim/index.js';
import { probeFreePort } from '../../../vllm/sim/probe-port.js';

export const M7B = 'qwen2.5-7b-instruct';
export const M05B = 'qwen2.5-0.5b-instruct';

export interface Farm {
  sims: Simulator[];
  gw: RunningGateway;
  url: string;
  config: Config;
  logs: Array<Record<string, unknown>>;
  rawLogs: () => string;
  client: (apiKey?: string, extra?: Partial<ConstructorParameters<typeof OpenAI>[0]>) => OpenAI;
  /** GET /system/status (anonymous unless a key is given). */
  status: (apiKey?: string) => Promise<Status>;
  /** GET /metrics text. */
  metrics: () => Promise<string>;
  close: () => Promise<void>;
}

export interface BackendStatus {
  name: string;
  url: string;
  state: string;
  models: string[];
  in_flight: number;
  load: number;
  vllm: { running: number; waiting: number; kv_cache_usage: number | null } | null;
  breaker: { state: string; failures: number; backoffMs: number };
  last_error: { kind: string; detail: string } | null;
}

export interface Status {
  upstream: { ready: boolean; model: string | null; backends_ready: number; backends_total: number };
  backends: BackendStatus[];
}

export interface FarmOptions {
  /** Simulators started in-process (fast unless overridden). */
  sims?: SimulatorOptions[];
  /** VLLM_URL; default: the simulators' URLs in order. */
  vllmUrl?: (sims: Simulator[]) => string;
  env?: Record<string, string>;
  resolve?: GatewayOptions['resolve'];
  /** Do not wait for every simulator's backend to be ready. */
  noWait?: boolean;
}

export async function startFarm(options: FarmOptions = {}): Promise<Farm> {
  const sims = (options.sims ?? [{}, {}]).map((o) => startSimulator({ ttftMs: 2, itlMs: 1, ...o }));
  await Promise.all(sims.map((s) => s.ready.catch(() => undefined)));
  const raw: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = chunk.toString('utf8');
      raw.push(text);
      for (const line of text.split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const config = parseConfig({
    VLLM_URL: options.vllmUrl ? options.vllmUrl(sims) : sims.map((s) => s.url).join(','),
    PORT: '0',
    HOST: '127.0.0.1',
    ALLOW_ANONYMOUS: 'true',
    SHUTDOWN_GRACE_MS: '1000',
    READY_WAIT_MS: '3000',
    BACKEND_METRICS_INTERVAL_MS: '100',
    ...options.env,
  });
  const gw = await startGateway(config, { logDestination: destination, version: 'test', ...(options.resolve ? { resolve: options.resolve } : {}) });
  if (!options.noWait) await waitFor(() => gw.backends.all().length > 0 && gw.backends.all().every((b) => b.usable), 8_000, 'every backend ready');
  const url = gw.url;
  const auth = (key?: string): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});
  return {
    sims,
    gw,
    url,
    config,
    logs,
    rawLogs: () => raw.join(''),
    client: (apiKey = 'unused', extra = {}) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 15_000, ...extra }),
    status: async (key) => (await (await fetch(`${url}/system/status`, { headers: auth(key) })).json()) as Status,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    close: async () => {
      await gw.shutdown();
      await Promise.all(sims.map((s) => s.close()));
    },
  };
}

/** Inference requests a simulator received (chat and completions). */
export function hits(sim: Simulator): number {
  return sim.requests.filter((r) => r.route !== undefined).length;
}

export function chatBody(model: string | undefined, content = 'hello', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(model === undefined ? {} : { model }), messages: [{ role: 'user', content }], max_tokens: 4, ...extra };
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

export interface StreamResult {
  status: number;
  body: string;
  done: boolean;
  errorEvent: boolean;
  /** The connection broke (fetch threw while reading). */
  broken: boolean;
}

/** A streamed chat request read to its end as text. */
export async function streamChat(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<StreamResult> {
  const res = await post(url, { ...body, stream: true }, headers, signal);
  let text = '';
  let broken = false;
  try {
    text = await res.text();
  } catch {
    broken = true;
  }
  return { status: res.status, body: text, done: text.includes('data: [DONE]'), errorEvent: /data: \{"error"/.test(text), broken };
}

/** Sum of a metric's series whose text (name and labels) contains every fragment. */
export function metricSum(text: string, name: string, ...fragments: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    if (fragments.every((f) => series.includes(f))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 25 ms until it is true; throws after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = performance.now() + ms;
  for (;;) {
    if (await check()) return;
    if (performance.now() > until) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(25);
  }
}

/** The backend a simulator is known as in the gateway (host:port). */
export function nameOf(sim: { url: string }): string {
  return new URL(sim.url).host;
}

const CLI = fileURLToPath(new URL('../../../vllm/sim/cli.ts', import.meta.url));

export interface CliSim {
  url: string;
  host: string;
  port: number;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves once the CLI logged that it listens. */
  ready: Promise<void>;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

/** The simulator CLI as its own process (through tsx), on `host:port` (a free port when omitted). */
export function startCliSim(opts: { host: string; port?: number; model?: string; maxNumSeqs?: number; env?: Record<string, string> }): CliSim {
  const port = opts.port ?? probeFreePort(opts.host);
  const args = ['serve', 'sim', '--host', opts.host, '--port', String(port), '--served-model-name', opts.model ?? M7B, '--max-num-seqs', String(opts.maxNumSeqs ?? 32)];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, SIM_TTFT_MS: '2', SIM_ITL_MS: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI simulator not ready within 15 s:\n${out}`)), 15_000);
    const onData = (c: Buffer): void => {
      out += c.toString('utf8');
      if (/simulator ready/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`CLI simulator exited:\n${out}`));
    });
  });
  ready.catch(() => undefined);
  return {
    url: `http://${opts.host}:${port}`,
    host: opts.host,
    port,
    child,
    output: () => out,
    exited,
    ready,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Indexes of the simulators that received a request whose body contains `marker` (in order of sims). */
export function landedOn(sims: readonly Simulator[], marker: string): number[] {
  const out: number[] = [];
  sims.forEach((s, i) => {
    if (s.requests.some((r) => JSON.stringify(r.body ?? '').includes(marker))) out.push(i);
  });
  return out;
}
