/**
 * @module soak/fleet
 * The soak's processes, each a child of this one, stopped by its own pid: one redis-server (Debian's),
 * three simulators from the simulator CLI on their own loopback addresses (127.0.0.2-4, so one can be
 * SIGKILLed and started again on the same host:port), and two gateway replicas of the built gateway
 * sharing that Redis. Simulators load the ledger preload, replicas the GC probe (see those modules).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { startProcess, waitUntil, type Managed } from '../bench/processes.js';

export const SOAK_MODEL = 'qwen2.5-7b-instruct';

export interface SoakKey {
  name: string;
  key: string;
  /** Per-key limits (API_KEYS grammar, gateway/auth/keys.ts); undefined = unlimited. */
  rpm?: number;
  tpm?: number;
  /** Share of the traffic sent with this key. */
  share: number;
}

export interface SimSpec {
  name: string;
  host: string;
  port: number;
  itlMs: number;
  ttftMs: number;
}

export interface SimLife {
  spec: SimSpec;
  /** 1 for the first process on this host:port, 2 after a restart. */
  life: number;
  proc: Managed;
  ledgerPath: string;
}

export interface Replica {
  name: string;
  origin: string;
  proc: Managed;
  memPath: string;
}

/** A port free on `host` a moment ago. */
export function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function httpOk(url: string): Promise<boolean> {
  const res = await request(url, { headersTimeout: 2_000, bodyTimeout: 2_000 });
  await res.body.dump();
  return res.statusCode === 200;
}

export async function startRedis(tmp: string): Promise<{ url: string; proc: Managed }> {
  const port = await freePortOn('127.0.0.1');
  const logPath = join(tmp, 'redis.log');
  const proc = startProcess({
    name: 'redis',
    command: process.env.REDIS_SERVER_BIN ?? 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'],
    cpu: undefined,
    logPath,
  });
  const ready = async () => readFileSync(logPath, 'utf8').includes('Ready to accept connections');
  await waitUntil(`redis-server (log: ${logPath}; apt-get install -y redis-server)`, ready, 10_000, proc.exited);
  return { url: `redis://127.0.0.1:${port}`, proc };
}

export async function startSim(root: string, tmp: string, spec: SimSpec, life: number): Promise<SimLife> {
  const tag = `${spec.name}-life${life}`;
  const ledgerPath = join(tmp, `${tag}.ledger.jsonl`);
  const proc = startProcess({
    name: tag,
    command: process.execPath,
    args: [
      '--import',
      pathToFileURL(join(root, 'dist', 'scripts', 'soak', 'sim-ledger.js')).href,
      join(root, 'dist', 'vllm', 'sim', 'cli.js'),
      'serve',
      'Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4',
      '--served-model-name',
      SOAK_MODEL,
      '--host',
      spec.host,
      '--port',
      String(spec.port),
      '--max-num-seqs',
      '8',
    ],
    env: { PATH: process.env.PATH, SIM_ITL_MS: String(spec.itlMs), SIM_TTFT_MS: String(spec.ttftMs), SOAK_LEDGER_FILE: ledgerPath },
    cpu: undefined,
    logPath: join(tmp, `${tag}.log`),
  });
  await waitUntil(`${tag} (log: ${proc.logPath})`, () => httpOk(`http://${spec.host}:${spec.port}/health`), 20_000, proc.exited);
  return { spec, life, proc, ledgerPath };
}

export interface ReplicaEnv {
  vllmUrls: string[];
  redisUrl: string;
  keys: readonly SoakKey[];
}

/** API_KEYS: `name:key rpm=N tpm=N` entries separated by commas (gateway/auth/keys.ts). */
export function apiKeysValue(keys: readonly SoakKey[]): string {
  return keys
    .map((k) => [`${k.name}:${k.key}`, k.rpm === undefined ? '' : `rpm=${k.rpm}`, k.tpm === undefined ? '' : `tpm=${k.tpm}`].filter(Boolean).join(' '))
    .join(',');
}

export async function startReplica(root: string, tmp: string, name: string, env: ReplicaEnv): Promise<Replica> {
  const port = await freePortOn('127.0.0.1');
  const memPath = join(tmp, `${name}.mem.jsonl`);
  const proc = startProcess({
    name,
    command: process.execPath,
    // The young generation pinned at 16 MiB semi-spaces: without it V8 doubles new space twice under this
    // load (+32 and +64 MiB RSS at unpredictable times, heap after GC flat: findings.md, finding 2), which
    // would hide or fake a leak. Pinned, RSS growth means retained memory.
    args: ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16', '--import', pathToFileURL(join(root, 'dist', 'scripts', 'soak', 'gc-probe.js')).href, join(root, 'dist', 'gateway', 'main.js')],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      VLLM_URL: env.vllmUrls.join(','),
      REDIS_URL: env.redisUrl,
      API_KEYS: apiKeysValue(env.keys),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      // Match each simulator's --max-num-seqs 8 per replica.
      MAX_CONCURRENT_REQUESTS: '8',
      DATA_DIR: join(tmp, `${name}-data`),
      SOAK_MEM_FILE: memPath,
    },
    cpu: undefined,
    logPath: join(tmp, `${name}.log`),
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitUntil(`${name} (log: ${proc.logPath})`, () => httpOk(`${origin}/health`), 30_000, proc.exited);
  return { name, origin, proc, memPath };
}

/** SIGKILL, resolved once the process is gone. */
export async function sigkill(proc: Managed): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
}
