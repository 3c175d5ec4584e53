/**
 * deploy/compose.yaml's scale-sim profile run for real: two simulated vLLM engines, two gateway replicas
 * sharing Redis, nginx in front. Docker Compose is not installed here (and Debian's docker-compose 1.29
 * predates the file's `configs.content`), so the test reads each service's image, command and environment
 * from the parsed file and starts those containers itself. With host networking every service listens on
 * 127.0.0.1 on a free port; service names in URLs are rewritten to those addresses, nothing else changes.
 * Redis runs the service's own command with the host's redis-server (no Redis image without Docker Hub).
 *
 * The property under test: a key's RATE_LIMIT_RPM holds across both replicas (one shared window in Redis),
 * not once per replica.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PATHS } from '../../gateway/routes/paths.js';
import { dockerOrSkip, freePort, removeAll, startContainer } from './harness.js';

const TAG = process.env.IMAGE_TAG ?? 'ci';
const PROFILE = 'scale-sim';
const RPM = 6;
const CLIENT_KEY = 'sk-compose-scale-test';
const ENGINE_KEY = 'engine-key-compose-scale';

/** What an operator's deploy/.env would hold, plus the images scripts/build-images.sh tagged. */
const COMPOSE_ENV: Record<string, string> = {
  GATEWAY_IMAGE: `vllm-gateway:${TAG}`,
  SIM_IMAGE: `vllm-gateway-sim:${TAG}`,
  LB_IMAGE: `vllm-gateway-lb:${TAG}`,
  VLLM_API_KEY: ENGINE_KEY,
  API_KEYS: `team-a:${CLIENT_KEY}`,
  METRICS_TOKEN: 'metrics-compose-scale',
  RATE_LIMIT_RPM: String(RPM),
};

interface Service {
  profiles?: string[];
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, $$. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === '$$') return '$';
    const v = env[name as string];
    if (op === ':-') return v ? v : (arg ?? '');
    if (op === '-') return v ?? arg ?? '';
    if (op === ':?' && !v) throw new Error(`compose: ${name}: ${arg}`);
    return v ?? '';
  });
}

function resolve<T>(value: T, env: Record<string, string>): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((v) => resolve(v, env)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, env)])) as T;
  return value;
}

const compose = parse(readFileSync(join(import.meta.dirname, '../../deploy/compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = Object.fromEntries(
  Object.entries(compose.services)
    .filter(([, s]) => s.profiles?.includes(PROFILE))
    .map(([name, s]) => [name, resolve(s, COMPOSE_ENV)]),
) as Record<string, Service>;
const byPrefix = (prefix: string) => Object.keys(services).filter((n) => n.startsWith(prefix));

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const ready = (await dockerOrSkip('compose scale-sim', [COMPOSE_ENV.GATEWAY_IMAGE, COMPOSE_ENV.SIM_IMAGE, COMPOSE_ENV.LB_IMAGE].map(String))) && hasRedis;
if (!hasRedis && process.env.REQUIRE_DOCKER === '1') throw new Error('compose scale-sim: REQUIRE_DOCKER=1 but redis-server is not installed on the host');
if (!hasRedis) console.warn('compose scale-sim: skipped: redis-server is not installed on the host');

async function waitFor(url: string, init: RequestInit = {}, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await fetch(url, init).catch(() => undefined);
    await res?.body?.cancel();
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} not 200 within ${ms} ms (last: ${res?.status ?? 'no connection'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Replaces flag `name`'s value in an argv. */
function withFlag(argv: string[], name: string, value: string): string[] {
  const i = argv.indexOf(name);
  if (i < 0) throw new Error(`command has no ${name}`);
  return [...argv.slice(0, i + 1), value, ...argv.slice(i + 2)];
}

describe.skipIf(!ready)('compose scale-sim: two gateways behind nginx share one rate limit through Redis', () => {
  const addr = new Map<string, string>();
  let redis: ChildProcess | undefined;
  let lbUrl = '';
  let gatewayUrls: string[] = [];

  /** http://service:port → http://127.0.0.1:<its port>, in every URL of a comma-separated list. */
  const rewrite = (value: string) => value.replace(/(\w+:\/\/(?:[^@/]*@)?)([a-z0-9-]+):\d+/g, (whole, scheme: string, host: string) => (addr.has(host) ? `${scheme}${addr.get(host)}` : whole));

  beforeAll(async () => {
    expect(Object.keys(services).sort()).toEqual(['gateway-scale-sim', 'lb-scale-sim', 'redis', 'vllm-sim-a', 'vllm-sim-b']);
    for (const name of Object.keys(services)) addr.set(name, `127.0.0.1:${await freePort()}`);

    const redisPort = (addr.get('redis') as string).split(':')[1] as string;
    const [bin, ...args] = services.redis?.command ?? [];
    expect(bin).toBe('redis-server');
    redis = spawn(bin as string, [...args, '--port', redisPort, '--bind', '127.0.0.1'], { stdio: 'ignore' });

    for (const name of byPrefix('vllm-sim-')) {
      const s = services[name] as Service;
      const port = (addr.get(name) as string).split(':')[1] as string;
      const command = withFlag(withFlag(s.command ?? [], '--port', port), '--host', '127.0.0.1');
      await startContainer(s.image, { env: s.environment ?? {}, command, readyLog: /simulator ready/ });
      await waitFor(`http://${addr.get(name)}/health`);
    }

    const gw = services['gateway-scale-sim'] as Service;
    const env = Object.fromEntries(Object.entries(gw.environment ?? {}).map(([k, v]) => [k, rewrite(v)]));
    const count = gw.deploy?.replicas ?? 1;
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      gatewayUrls.push(`127.0.0.1:${port}`);
      await startContainer(gw.image, { env: { ...env, HOST: '127.0.0.1', PORT: String(port) } });
    }
    for (const u of gatewayUrls) await waitFor(`http://${u}${PATHS.health}`);

    const lb = services['lb-scale-sim'] as Service;
    const upstream = lb.environment?.LB_UPSTREAMS ?? '';
    expect(upstream).toBe('gateway-scale-sim:9000');
    await startContainer(lb.image, {
      env: { ...lb.environment, LB_UPSTREAMS: gatewayUrls.join(' '), LB_PORT: addr.get('lb-scale-sim') as string },
      readyLog: /lb: nginx listening/,
    });
    lbUrl = `http://${addr.get('lb-scale-sim')}`;
    await waitFor(`${lbUrl}${PATHS.health}`);
  }, 120_000);

  afterAll(async () => {
    await removeAll();
    redis?.kill('SIGTERM');
    gatewayUrls = [];
  });

  const ask = (base: string) =>
    fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    }).then(async (res) => {
      await res.body?.cancel();
      return res.status;
    });

  /** The sum of a replica's gateway_requests_total series. */
  const requestsCounted = async (base: string) => {
    const res = await fetch(`${base}${PATHS.metrics}`, { headers: { authorization: `Bearer ${COMPOSE_ENV.METRICS_TOKEN}` } });
    const text = await res.text();
    return [...text.matchAll(/^gateway_requests_total(?:\{[^}]*\})? (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  it(`admits RATE_LIMIT_RPM (${RPM}) requests of one key in a minute across both replicas, then answers 429`, async () => {
    // Concurrent, so nginx (least_conn) spreads them over both replicas.
    const statuses = await Promise.all(Array.from({ length: RPM * 2 }, () => ask(lbUrl)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(RPM);
    expect(statuses.filter((s) => s === 429)).toHaveLength(RPM);
    // Both replicas took requests (their own counters; logs are written in batches): the limit held
    // across them, not inside one.
    const served = await Promise.all(gatewayUrls.map((u) => requestsCounted(`http://${u}`)));
    expect(served.every((n) => n > 0), `requests per replica: ${served.join(', ')}`).toBe(true);
    expect(served.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(RPM * 2);
  });

  it('each replica, asked directly, sees the same spent window', async () => {
    for (const u of gatewayUrls) expect(await ask(`http://${u}`)).toBe(429);
  });
});
