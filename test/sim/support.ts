/**
 * Helpers for the simulator's tests: real sockets on 127.0.0.1, raw access to status, headers and body
 * bytes, and requests whose socket a test can destroy at a chosen moment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startSimulator, type Simulator, type SimulatorOptions, type SimRequestRecord } from '../../vllm/sim/index.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Starts a fast simulator (ttft 2 ms, itl 1 ms unless overridden) and waits until it listens. */
export async function fastSim(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = startSimulator({ ttftMs: 2, itlMs: 1, ...options });
  await sim.ready;
  return sim;
}

export function post(sim: Simulator, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export async function postJson<T = Record<string, unknown>>(sim: Simulator, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: T }> {
  const res = await post(sim, path, body, headers);
  return { status: res.status, json: (await res.json()) as T };
}

export function chat(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { messages: [{ role: 'user', content }], ...extra };
}

/** node:http, so a reset shows as an error and the exact body bytes are kept. */
export function rawPost(sim: Simulator, path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    const url = new URL(sim.url);
    const req = request(
      { host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Like rawPost, but resolves with what arrived before the connection broke (and whether it broke). */
export function rawPostUntilClose(sim: Simulator, path: string, body: unknown): Promise<{ status: number; body: string; broken: boolean }> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const url = new URL(sim.url);
    let status = 0;
    const chunks: Buffer[] = [];
    const req = request({ host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8'), broken: false }));
      res.on('error', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8'), broken: true }));
    });
    req.on('error', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8'), broken: true }));
    req.end(payload);
  });
}

/**
 * Sends a request and destroys its socket after `afterMs`, or right after the first body bytes
 * ('first-byte'). Resolves once the socket is closed.
 */
export function sendAndDrop(sim: Simulator, path: string, body: unknown, when: number | 'first-byte'): Promise<void> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const url = new URL(sim.url);
    const req = request({ host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    if (when === 'first-byte') req.on('response', (res) => res.once('data', () => req.destroy()));
    else setTimeout(() => req.destroy(), when);
    req.end(payload);
  });
}

/** The record of the next request that ends, or a rejection after `ms`. */
export function nextEnd(sim: Simulator, ms = 3_000): Promise<SimRequestRecord> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no request ended within ${ms} ms`)), ms);
    sim.events.once('request-end', (rec: SimRequestRecord) => {
      clearTimeout(timer);
      resolve(rec);
    });
  });
}

/** The data payloads of an SSE body, in order. */
export function sseData(body: string): string[] {
  return body
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((e) => {
      if (!e.startsWith('data: ')) throw new Error(`not an SSE data event: ${JSON.stringify(e)}`);
      return e.slice('data: '.length);
    });
}

/** A metric's value in Prometheus text, for a series whose name and labels start with `series`. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const CLI = fileURLToPath(new URL('../../vllm/sim/cli.ts', import.meta.url));

export interface CliRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  waitFor: (pattern: RegExp, ms?: number) => Promise<void>;
}

/** The simulator's CLI as its own process (through tsx, no build needed), with its output collected. */
export function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (c: Buffer): void => {
    out += c.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, ms = 8_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${String(pattern)} in CLI output within ${ms} ms:\n${out}`)), ms);
      const check = (): void => {
        if (!pattern.test(out)) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve();
      };
      listeners.add(check);
      check();
    });
  return { child, output: () => out, exited, waitFor };
}
