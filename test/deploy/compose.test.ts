/**
 * Static checks of deploy/compose.yaml and the monitoring files it mounts (no compose engine needed):
 * profiles, the GPU reservation, health checks and start order, pinned images, and a dashboard that shows
 * the metrics the gateway and vLLM export.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_NAMES } from '../../gateway/config.js';
import { parseBackendsFile } from '../../gateway/backends/backends-file.js';
import { DEFAULT_PORT } from '../../gateway/routes/paths.js';
import { REPO_ROOT } from './s-yaml.js';

interface Service {
  profiles?: string[];
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  ipc?: string;
  shm_size?: string;
  volumes?: string[];
  healthcheck?: { test: string[]; start_period?: string };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number; resources?: { reservations?: { devices?: Array<{ driver: string; count?: string | number; device_ids?: string[]; capabilities: string[] }> } } };
}

const deployDir = join(REPO_ROOT, 'deploy');
const compose = parse(readFileSync(join(deployDir, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`compose.yaml has no service ${name}`);
  return s;
}

describe('deploy/compose.yaml', () => {
  it('has gpu, cpu and monitoring profiles', () => {
    const profiles = new Set(Object.values(services).flatMap((s) => s.profiles ?? []));
    expect([...profiles].sort()).toEqual(['cpu', 'gpu', 'monitoring', 'scale', 'scale-sim']);
  });

  it('gpu: vLLM reserves all GPUs, shares the host IPC namespace and keeps its compile cache in a volume', () => {
    const vllm = service('vllm');
    expect(vllm.profiles).toEqual(['gpu']);
    expect(vllm.deploy?.resources?.reservations?.devices).toEqual([{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }]);
    expect(vllm.ipc === 'host' || vllm.shm_size !== undefined).toBe(true);
    expect(vllm.volumes).toContain('vllm-compile-cache:/home/vllm/.cache/vllm');
    expect(compose.volumes).toHaveProperty('vllm-compile-cache');
    expect(vllm.command).toEqual(['vllm']);
    // vLLM is reachable from the gateway only; its port is never published (vllm.md 6).
    expect(vllm.ports).toBeUndefined();
    expect(vllm.environment?.ENGINE_HOST).toBe('0.0.0.0');
  });

  it.each([
    ['gateway', 'vllm'],
    ['gateway-cpu', 'vllm-cpu'],
  ])('%s waits for %s to be healthy and talks to it by service name', (gatewayName, engineName) => {
    const gateway = service(gatewayName);
    const engine = service(engineName);
    expect(gateway.depends_on?.[engineName]).toEqual({ condition: 'service_healthy' });
    expect(gateway.environment?.VLLM_URL).toBe(`http://${engineName}:${engine.environment?.ENGINE_PORT}`);
    expect(gateway.environment?.NODE_ENV).toBe('production');
    expect(gateway.ports).toEqual([`\${GATEWAY_PORT:-${DEFAULT_PORT}}:${DEFAULT_PORT}`]);
    // The engine may also serve another profile (vllm-cpu is the scale profile's fallback tier).
    for (const profile of gateway.profiles ?? []) expect(engine.profiles).toContain(profile);
    // The engine's health check asks vLLM's /health and allows for a multi-minute model load.
    expect(engine.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${engine.environment?.ENGINE_PORT}/health`);
    expect(engine.healthcheck?.start_period).toBe('600s');
  });

  it('cpu: the CPU image of vLLM serves a small Qwen2.5 instruct model through the same launch script', () => {
    const cpu = service('vllm-cpu');
    expect(cpu.image).toMatch(/^\$\{CPU_ENGINE_IMAGE:-vllm\/vllm-openai-cpu:v\d+\.\d+\.\d+-x86_64\}$/);
    expect(cpu.environment?.MODEL_ID).toMatch(/^Qwen\/Qwen2\.5-0\.5B-Instruct$/);
    expect(cpu.environment?.MODEL_REVISION).toMatch(/^[0-9a-f]{40}$/);
    expect(cpu.entrypoint).toEqual(['bash', '/opt/launch.sh']);
    expect(cpu.volumes).toContain('../vllm/launch.sh:/opt/launch.sh:ro');
    expect(cpu.deploy).toBeUndefined();
  });

  it('gives every long-running service a health check and pins every image', () => {
    for (const [name, s] of Object.entries(services)) {
      const image = s.image ?? '';
      expect(image, name).not.toMatch(/:latest\b|^[^:]+$/);
      if (name.startsWith('gateway')) continue; // the gateway image carries its own HEALTHCHECK (Dockerfile.gateway)
      expect(s.healthcheck, name).toBeDefined();
    }
  });

  it('keeps the gateway admission limit equal to the engine batch size', () => {
    expect(service('gateway').environment?.MAX_CONCURRENT_REQUESTS).toBe('${MAX_NUM_SEQS:-32}');
    expect(service('vllm').environment?.MAX_NUM_SEQS).toBe('${MAX_NUM_SEQS:-32}');
    expect(service('gateway-cpu').environment?.MAX_CONCURRENT_REQUESTS).toBe(service('vllm-cpu').environment?.MAX_NUM_SEQS);
  });
});

describe('deploy/compose.yaml: scale and scale-sim (two gateways behind one port, Redis, two engines)', () => {
  const shapes = [
    { profile: 'scale', gateway: 'gateway-scale', lb: 'lb-scale', engines: ['vllm-a', 'vllm-b'] },
    { profile: 'scale-sim', gateway: 'gateway-scale-sim', lb: 'lb-scale-sim', engines: ['vllm-sim-a', 'vllm-sim-b'] },
  ];
  /** The port an engine listens on: ENGINE_PORT (launch.sh) or the simulator's --port. */
  const enginePort = (s: Service) => s.environment?.ENGINE_PORT ?? s.command?.[(s.command?.indexOf('--port') ?? -2) + 1];

  it('every gateway service sets only variables the gateway reads (ENV_NAMES)', () => {
    for (const [name, s] of Object.entries(services).filter(([n]) => n.startsWith('gateway'))) {
      for (const variable of Object.keys(s.environment ?? {})) expect(ENV_NAMES, `${name}: ${variable}`).toContain(variable);
    }
  });

  it.each(shapes)('$profile: two gateway replicas, only the load balancer is published', ({ profile, gateway, lb }) => {
    const gw = service(gateway);
    expect(gw.profiles).toEqual([profile]);
    expect(gw.deploy?.replicas).toBe(2);
    expect(gw.ports).toBeUndefined();
    const balancer = service(lb) as Service & { environment: Record<string, string> };
    expect(balancer.profiles).toEqual([profile]);
    expect(balancer.ports).toEqual([`\${GATEWAY_PORT:-${DEFAULT_PORT}}:9000`]);
    expect(balancer.environment.LB_UPSTREAMS).toBe(`${gateway}:${DEFAULT_PORT}`);
    expect(balancer.depends_on?.[gateway]).toEqual({ condition: 'service_healthy' });
    expect(balancer.healthcheck?.test.join(' ')).toContain('/livez');
  });

  it.each(shapes)('$profile: the gateways list both engines on their ports and share one Redis', ({ profile, gateway, engines }) => {
    const env = service(gateway).environment ?? {};
    expect(env.VLLM_URL).toBe(engines.map((e) => `http://${e}:${enginePort(service(e))}`).join(','));
    for (const e of engines) {
      expect(service(e).profiles).toEqual([profile]);
      expect(service(gateway).depends_on?.[e]).toEqual({ condition: 'service_healthy' });
      expect(service(e).ports).toBeUndefined();
    }
    const redisUrl = new URL(env.REDIS_URL ?? '');
    const redis = service(redisUrl.hostname);
    expect(redis.profiles).toContain(profile);
    expect(redisUrl.port).toBe('6379');
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(service(gateway).depends_on?.[redisUrl.hostname]).toEqual({ condition: 'service_healthy' });
    expect(env.RATE_LIMIT_ON_STORE_ERROR).toBe('local');
    // The admission limit is per backend: each engine's batch.
    expect(env.MAX_CONCURRENT_REQUESTS).toBe('${MAX_NUM_SEQS:-32}');
  });

  it('scale: each engine reserves its own GPU', () => {
    const ids = ['vllm-a', 'vllm-b'].map((e) => service(e).deploy?.resources?.reservations?.devices?.[0]?.device_ids);
    expect(ids).toEqual([['0'], ['1']]);
    for (const e of ['vllm-a', 'vllm-b']) expect(service(e).command).toEqual(['vllm']);
  });

  it('scale-sim: the simulator takes the served name and batch size vLLM would', () => {
    for (const e of ['vllm-sim-a', 'vllm-sim-b']) {
      const command = service(e).command ?? [];
      expect(command[command.indexOf('--served-model-name') + 1]).toBe('qwen2.5-7b-instruct');
      expect(command[command.indexOf('--max-num-seqs') + 1]).toBe('${MAX_NUM_SEQS:-32}');
      expect(command[command.indexOf('--host') + 1]).toBe('0.0.0.0');
    }
  });

  it('the load balancer is built from deploy/nginx, whose config streams and never retries a started request', () => {
    const lb = service('lb-scale') as Service & { build?: { context: string } };
    expect(lb.build?.context).toBe('./nginx');
    const conf = readFileSync(join(deployDir, 'nginx/nginx.conf.template'), 'utf8');
    expect(conf).toMatch(/proxy_buffering off;/);
    expect(conf).toMatch(/proxy_next_upstream error timeout;/);
    expect(conf).not.toMatch(/non_idempotent/);
    expect(conf).toMatch(/proxy_read_timeout 360s;/);
  });
});

describe('monitoring profile', () => {
  const prometheus = parse(readFileSync(join(deployDir, 'prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }>; authorization?: { credentials_file: string } }>;
  };

  it('Prometheus scrapes the gateway (with the metrics token) and vLLM', () => {
    const jobs = Object.fromEntries(prometheus.scrape_configs.map((j) => [j.job_name, j]));
    expect(jobs.gateway?.static_configs[0]?.targets).toEqual(['gateway:9000', 'gateway-cpu:9000']);
    expect(jobs.vllm?.static_configs[0]?.targets).toEqual(['vllm:8000', 'vllm-cpu:8000']);
    expect(jobs.gateway?.authorization?.credentials_file).toBe('/etc/prometheus/metrics-token');
    const mounted = service('prometheus') as Service & { configs?: Array<{ target: string }> };
    expect(mounted.configs?.map((c) => c.target)).toContain('/etc/prometheus/metrics-token');
  });

  it('Grafana is provisioned with the Prometheus datasource and the dashboard directory', () => {
    const grafana = service('grafana');
    expect(grafana.volumes).toEqual(expect.arrayContaining(['./grafana/provisioning:/etc/grafana/provisioning:ro', './grafana/dashboards:/var/lib/grafana/dashboards:ro']));
    expect(existsSync(join(deployDir, 'grafana/provisioning/datasources/prometheus.yaml'))).toBe(true);
    const provider = parse(readFileSync(join(deployDir, 'grafana/provisioning/dashboards/vllm-gateway.yaml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
    expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('the dashboard shows requests, TTFT, tokens/s, queue depth, rejections and vLLM running/waiting/KV cache', () => {
    const dashboard = JSON.parse(readFileSync(join(deployDir, 'grafana/dashboards/vllm-gateway.json'), 'utf8')) as {
      uid: string;
      panels: Array<{ type: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n');
    for (const metric of [
      'gateway_requests_total',
      'gen_ai_server_time_to_first_token_seconds_bucket',
      'gateway_tokens_total',
      'gateway_queued_requests',
      'gateway_rejections_total',
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
    ]) {
      expect(exprs, metric).toContain(metric);
    }
    for (const p of dashboard.panels.filter((panel) => panel.type !== 'row')) expect(p.datasource?.uid).toBe('prometheus');
  });
});

describe('compose scale profile: the CPU fallback tier', () => {
  it('lists vllm-cpu in a backends file with its own concurrency and falls back to its model', () => {
    const raw = parse(readFileSync(join(deployDir, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, Service & { configs?: Array<{ source: string; target: string }> }>;
      configs: Record<string, { content?: string }>;
    };
    const gw = raw.services['gateway-scale']!;
    const cpu = raw.services['vllm-cpu']!;
    expect(cpu.profiles).toContain('scale');
    const mount = gw.configs?.find((c) => c.target === gw.environment?.VLLM_BACKENDS_FILE);
    expect(mount, 'the backends file is mounted where VLLM_BACKENDS_FILE points').toBeDefined();
    const specs = parseBackendsFile(raw.configs[mount!.source]!.content ?? '', 'compose');
    expect(specs).toEqual([expect.objectContaining({ url: `http://vllm-cpu:${cpu.environment?.ENGINE_PORT}`, maxConcurrent: Number(cpu.environment?.MAX_NUM_SEQS) })]);
    const gpuModel = raw.services['vllm-a']!.environment?.SERVED_MODEL_NAME ?? 'qwen2.5-7b-instruct';
    expect(gw.environment?.MODEL_FALLBACKS).toBe(`${gpuModel}=${cpu.environment?.SERVED_MODEL_NAME}`);
  });
});
