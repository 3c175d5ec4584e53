/**
 * Several gateway replicas in this process, sharing nothing but one Redis (REDIS_URL) and one simulated
 * vLLM. Only public behaviour is used (startGateway/parseConfig, HTTP requests, status codes, headers),
 * so these tests hold whatever shape the request pipeline takes.
 */
import { Writable } from 'node:stream';
import { parseConfig } from '../../gateway/config.js';
import { startGateway, type RunningGateway } from '../../gateway/server.js';
import { startSimulator, type Simulator } from '../../vllm/sim/index.js';

export const API_KEY = 'key-team';

export interface Replicas {
  sim: Simulator;
  gateways: RunningGateway[];
  urls: string[];
  /** Everything the gateways logged, for "the password never appears" assertions. */
  rawLogs: () => string;
  close(): Promise<void>;
}

export async function startReplicas(count: number, env: Record<string, string>): Promise<Replicas> {
  const sim = startSimulator({ ttftMs: 2, itlMs: 0 });
  await sim.ready;
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(chunk.toString('utf8'));
      cb();
    },
  });
  const gateways: RunningGateway[] = [];
  for (let i = 0; i < count; i++) {
    const config = parseConfig({
      VLLM_URL: sim.url,
      PORT: '0',
      HOST: '127.0.0.1',
      API_KEYS: `team:${API_KEY}`,
      SHUTDOWN_GRACE_MS: '1000',
      READY_WAIT_MS: '3000',
      MAX_CONCURRENT_REQUESTS: '64',
      MAX_QUEUE: '256',
      ...env,
    });
    gateways.push(await startGateway(config, { logDestination: destination, version: 'test' }));
  }
  await Promise.all(gateways.map((gw) => waitHealthy(gw.url)));
  await Promise.all(gateways.map((gw) => waitStoreUp(gw)));
  return {
    sim,
    gateways,
    urls: gateways.map((g) => g.url),
    rawLogs: () => raw.join(''),
    close: async () => {
      for (const gw of gateways) {
        await gw.shutdown();
        // The store's Redis connection: server.ts may or may not close it on shutdown yet.
        const store = (gw as { deps?: { rateLimits?: { close?: () => Promise<void> } } }).deps?.rateLimits;
        await store?.close?.();
      }
      await sim.close();
    },
  };
}

/**
 * Waits until the replica's rate-limit store is connected, through /system/status's shape where the
 * gateway exposes it (deps.rateLimits.status()); without it, a fixed pause.
 */
async function waitStoreUp(gw: RunningGateway): Promise<void> {
  const store = (gw as { deps?: { rateLimits?: { status?: () => { state: string } } } }).deps?.rateLimits;
  if (!store?.status) return new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 100 && store.status().state !== 'ok'; i++) await new Promise((r) => setTimeout(r, 50));
}

async function waitHealthy(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${url}/health`).catch(() => undefined);
    await res?.text();
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not healthy`);
}

export interface Answer {
  status: number;
  ms: number;
  headers: Headers;
  body: string;
  replica: number;
}

export async function chat(urls: string[], i: number, extra: Record<string, unknown> = {}): Promise<Answer> {
  const replica = i % urls.length;
  const t0 = performance.now();
  const res = await fetch(`${urls[replica]}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, ...extra }),
  });
  const body = await res.text();
  return { status: res.status, ms: performance.now() - t0, headers: res.headers, body, replica };
}

/** `n` requests at once, spread round-robin over the replicas. */
export function burst(urls: string[], n: number, extra: Record<string, unknown> = {}): Promise<Answer[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => chat(urls, i, extra)));
}

export const statuses = (answers: Answer[]): Record<number, number> =>
  answers.reduce<Record<number, number>>((acc, a) => ((acc[a.status] = (acc[a.status] ?? 0) + 1), acc), {});
