/**
 * @module bench/targets
 * The five things a client can talk to: the simulator itself (direct), our gateway with everything on,
 * the bare Node proxy, nginx and Portkey. Each proxy is started pinned to the proxy core, pointed at the
 * simulator, and declared ready only once a real chat completion has come back through it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { findNginx, NGINX_INSTALL_HINT, nginxConfig, nginxVersion } from './nginx.js';
import { ensurePortkey, portkeyHeaders } from './portkey.js';
import { freePort, startProcess, waitUntil, type Managed, type Placement } from './processes.js';

export const TARGET_IDS = ['direct', 'gateway', 'bare', 'nginx', 'portkey'] as const;
export type TargetId = (typeof TARGET_IDS)[number];

export const TARGET_LABELS: Readonly<Record<TargetId, string>> = {
  direct: 'direct (simulator)',
  gateway: 'our gateway, everything on',
  bare: 'bare Node proxy',
  nginx: 'nginx',
  portkey: 'Portkey gateway',
};

/** The key the gateway is given and the load client presents. */
export const BENCH_KEY = 'sk-bench';
export const BENCH_MODEL = 'qwen2.5-7b-instruct';

export interface TargetContext {
  root: string;
  /** Scratch directory of this run (configs, logs). */
  tmp: string;
  simOrigin: string;
  simPort: number;
  /** Requests in flight in the scenario: sizes admission control, pools and nginx's connections. */
  concurrency: number;
  placement: Placement;
  /** When set, the Node targets (gateway, bare proxy) run under `node --cpu-prof` and write to <dir>/<target>/. */
  cpuProfDir?: string;
  /** NODE_OPTIONS for the gateway only (e.g. `--max-semi-space-size=1`), to try runtime flags without a code change. */
  gatewayNodeOptions?: string;
  /** Environment overrides for the gateway only, applied last (e.g. LOG_LEVEL=warn to price the log line). */
  gatewayEnv?: Record<string, string>;
  log: (line: string) => void;
}

export interface RunningTarget {
  id: TargetId;
  origin: string;
  headers: Record<string, string>;
  /** Root pid of the proxy's process tree; undefined for direct. */
  pid: number | undefined;
  version: string;
  stop(): Promise<void>;
}

/** Thrown when a target cannot run on this machine (not installed, no network for npm): it is skipped, with the reason. */
export class TargetUnavailable extends Error {
  override readonly name = 'TargetUnavailable';
}

/** One real completion through the target: readiness means the whole path works, not just a listening port. */
async function answers(origin: string, headers: Record<string, string>): Promise<boolean> {
  const res = await request(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: BENCH_MODEL, messages: [{ role: 'user', content: 'ready?' }], max_tokens: 1 }),
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  });
  await res.body.dump();
  return res.statusCode === 200;
}

async function ready(id: TargetId, proc: Managed, origin: string, headers: Record<string, string>): Promise<RunningTarget> {
  try {
    await waitUntil(`${id} (log: ${proc.logPath})`, () => answers(origin, headers), 30_000, proc.exited);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { id, origin, headers, pid: proc.pid, version: '', stop: proc.stop };
}

function profileArgs(ctx: TargetContext, id: TargetId): string[] {
  return ctx.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.cpuProfDir, id)}`] : [];
}

function nodeVersion(): string {
  return `Node ${process.versions.node}`;
}

async function startGateway(ctx: TargetContext): Promise<RunningTarget> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    VLLM_URL: ctx.simOrigin,
    API_KEYS: `bench:${BENCH_KEY}`,
    // Admission sized to the scenario: every request is admitted at once, none waits in the queue.
    MAX_CONCURRENT_REQUESTS: String(ctx.concurrency),
    MAX_QUEUE: String(ctx.concurrency),
    // Rate limits on, set far above what the benchmark sends so they count but never refuse.
    RATE_LIMIT_RPM: '100000000',
    RATE_LIMIT_TPM: '10000000000',
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '2000',
    ...(ctx.gatewayNodeOptions ? { NODE_OPTIONS: ctx.gatewayNodeOptions } : {}),
    ...ctx.gatewayEnv,
  };
  const args = [join(ctx.root, 'dist', 'gateway', 'main.js')];
  args.unshift(...profileArgs(ctx, 'gateway'));
  // Logs at info go to stdout, which is this file: the gateway pays for every log line as in production.
  const proc = startProcess({ name: 'gateway', command: process.execPath, args, env, cpu: ctx.placement.proxyCpu, logPath: join(ctx.tmp, 'gateway.log') });
  const t = await ready('gateway', proc, `http://127.0.0.1:${port}`, { authorization: `Bearer ${BENCH_KEY}` });
  let flags = ctx.gatewayNodeOptions ? `, NODE_OPTIONS=${ctx.gatewayNodeOptions}` : '';
  if (ctx.gatewayEnv) flags += `, ${Object.entries(ctx.gatewayEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  return { ...t, version: `${nodeVersion()}, logs at info to a file${flags}` };
}

async function startBare(ctx: TargetContext): Promise<RunningTarget> {
  const port = await freePort();
  const entry = join(ctx.root, 'dist', 'scripts', 'bench', 'bare-proxy.js');
  const env = { PATH: process.env.PATH, PORT: String(port), UPSTREAM: ctx.simOrigin };
  const proc = startProcess({ name: 'bare', command: process.execPath, args: [...profileArgs(ctx, 'bare'), entry], env, cpu: ctx.placement.proxyCpu, logPath: join(ctx.tmp, 'bare.log') });
  const t = await ready('bare', proc, `http://127.0.0.1:${port}`, {});
  return { ...t, version: `${nodeVersion()}, node:http + undici` };
}

async function startNginx(ctx: TargetContext): Promise<RunningTarget> {
  const binary = findNginx();
  if (!binary) throw new TargetUnavailable(`nginx is not installed: ${NGINX_INSTALL_HINT}`);
  const port = await freePort();
  const prefix = join(ctx.tmp, `nginx-${port}`);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig({ prefix, listenPort: port, upstreamPort: ctx.simPort, maxStreams: ctx.concurrency }));
  // SIGTERM is nginx's fast shutdown: it does not wait for the open streams of the idle scenario.
  const proc = startProcess({ name: 'nginx', command: binary, args: ['-p', prefix, '-c', conf], cpu: ctx.placement.proxyCpu, logPath: join(prefix, 'stderr.log') });
  const t = await ready('nginx', proc, `http://127.0.0.1:${port}`, {});
  return { ...t, version: nginxVersion(binary) };
}

async function startPortkey(ctx: TargetContext): Promise<RunningTarget> {
  let install;
  try {
    install = ensurePortkey(join(ctx.root, '.cache', 'bench', 'portkey'), ctx.log);
  } catch (err) {
    throw new TargetUnavailable(err instanceof Error ? err.message : String(err));
  }
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NODE_ENV: 'production', TRUSTED_CUSTOM_HOSTS: '127.0.0.1' };
  const proc = startProcess({
    name: 'portkey',
    command: process.execPath,
    args: [install.entry, `--port=${port}`, '--headless'],
    env,
    cpu: ctx.placement.proxyCpu,
    logPath: join(ctx.tmp, 'portkey.log'),
  });
  const t = await ready('portkey', proc, `http://127.0.0.1:${port}`, portkeyHeaders(ctx.simOrigin));
  return { ...t, version: `@portkey-ai/gateway ${install.version} (@hono/node-server 1.13.5, hono 4.9.7), ${nodeVersion()}` };
}

export async function startTarget(id: TargetId, ctx: TargetContext): Promise<RunningTarget> {
  switch (id) {
    case 'direct':
      return { id, origin: ctx.simOrigin, headers: {}, pid: undefined, version: 'the simulator itself', stop: async () => {} };
    case 'gateway':
      return startGateway(ctx);
    case 'bare':
      return startBare(ctx);
    case 'nginx':
      return startNginx(ctx);
    case 'portkey':
      return startPortkey(ctx);
  }
}
