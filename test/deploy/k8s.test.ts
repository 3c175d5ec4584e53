/**
 * deploy/k8s, checked offline (no cluster): the kustomize base and overlays rendered here (test/deploy/
 * kustomize.ts, compared with `kubectl kustomize` when kubectl is installed), every object validated
 * against the Kubernetes and KEDA schemas (kubernetes-models), and the cross-references a schema cannot
 * see (k8s-checks.ts): selectors, ports, probe paths, Secret keys, env names, vLLM's flags, KEDA queries.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ENV_NAMES, parseConfig } from '../../gateway/config.js';
import { DEFAULT_PORT, PATHS } from '../../gateway/routes/paths.js';
import { checkK8s, containers, envOf, podTemplate, type Expectations } from './k8s-checks.js';
import { render, secretData, type K8sObject, type Obj } from './kustomize.js';
import { REPO_ROOT } from './s-yaml.js';

const K8S_DIR = join(REPO_ROOT, 'deploy/k8s');
const NAMESPACE = 'vllm-gateway';
const VLLM_MD = join(REPO_ROOT, '../shared/reference/vllm.md');

/** One model per kind we use; validate() throws on a schema violation. */
const MODELS: Record<string, (o: K8sObject) => { validate(): void }> = {
  'apps/v1/Deployment': (o) => new Deployment(o as never),
  'v1/Service': (o) => new Service(o as never),
  'v1/Namespace': (o) => new Namespace(o as never),
  'v1/Secret': (o) => new Secret(o as never),
  'v1/PersistentVolumeClaim': (o) => new PersistentVolumeClaim(o as never),
  'autoscaling/v2/HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o as never),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never),
  'networking.k8s.io/v1/NetworkPolicy': (o) => new NetworkPolicy(o as never),
  'keda.sh/v1alpha1/ScaledObject': (o) => new ScaledObject(o as never),
};

function validate(o: K8sObject): void {
  const model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!model) throw new Error(`${o.apiVersion} ${o.kind} has no schema in this test`);
  model(o).validate();
}

const examples = { envFile: (path: string) => `${path}.example` };
const rendered = {
  base: render(join(K8S_DIR, 'base'), examples),
  trial: render(join(K8S_DIR, 'overlays/trial'), examples),
  production: render(join(K8S_DIR, 'overlays/production'), examples),
};
type Variant = keyof typeof rendered;

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name}`);
  return o;
}

// vllm/launch.sh run for real (VLLM_BIN prints its argv), with what the cluster changes: the pod network
// address, and a drain on SIGTERM passed through ENGINE_EXTRA_ARGS.
const dir = mkdtempSync(join(tmpdir(), 'k8s-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const printArgs = join(dir, 'vllm');
writeFileSync(printArgs, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
chmodSync(printArgs, 0o755);
const manifestArgs = (containers(find(rendered.base, 'Deployment', 'vllm'))[0]?.args ?? []) as string[];
const shutdownTimeout = manifestArgs[manifestArgs.indexOf('--shutdown-timeout') + 1] ?? '';
const launchArgv = [
  'vllm',
  ...execFileSync('bash', [join(REPO_ROOT, 'vllm/launch.sh')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VLLM_BIN: printArgs, VLLM_API_KEY: 'k', ENGINE_HOST: '0.0.0.0', ENGINE_EXTRA_ARGS: `--shutdown-timeout ${shutdownTimeout}` },
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean),
];

// Metric names: vLLM's from vllm.md 7 (beside the clone, like the fc3 schema), the gateway's from its code.
const vllmMetrics = existsSync(VLLM_MD)
  ? [...readFileSync(VLLM_MD, 'utf8').matchAll(/`(vllm:[a-z_]+)/g)].map((m) => m[1] as string)
  : ['vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc'];
const gatewayMetrics = [...readFileSync(join(REPO_ROOT, 'gateway/observability/metrics.ts'), 'utf8').matchAll(/name: '([a-z_]+)'/g)].map((m) => m[1] as string);

function expectations(variant: Variant): Expectations {
  return {
    namespace: NAMESPACE,
    envNames: ENV_NAMES,
    gatewayPort: DEFAULT_PORT,
    healthPath: PATHS.health,
    livezPath: PATHS.livez,
    vllmArgv: launchArgv,
    metrics: new Set([...vllmMetrics, ...gatewayMetrics]),
    requireSecrets: variant !== 'base',
  };
}

/** The gateway container's environment with the Secret's values filled in, as the kubelet would. */
function gatewayEnv(objects: readonly K8sObject[]): Record<string, string> {
  const secrets = new Map(objects.filter((o) => o.kind === 'Secret').map((s) => [s.metadata.name, secretData(s)]));
  const c = containers(find(objects, 'Deployment', 'gateway')).find((k) => k.name === 'gateway');
  const env: Record<string, string> = {};
  for (const e of (c?.env ?? []) as Obj[]) {
    const ref = ((e.valueFrom as Obj | undefined)?.secretKeyRef ?? {}) as { name?: string; key?: string };
    env[String(e.name)] = typeof e.value === 'string' ? e.value : (secrets.get(ref.name ?? '')?.[ref.key ?? ''] ?? '');
  }
  return env;
}

describe.each(Object.keys(rendered) as Variant[])('deploy/k8s %s', (variant) => {
  const objects = rendered[variant];

  it('validates every object against the Kubernetes and KEDA schemas', () => {
    expect(objects.length).toBeGreaterThan(8);
    for (const o of objects) expect(() => validate(o), `${o.kind}/${o.metadata.name}`).not.toThrow();
  });

  it('is consistent: selectors, ports, probes, env names, Secret keys, vLLM flags, KEDA queries', () => {
    expect(checkK8s(objects, expectations(variant))).toEqual([]);
  });
});

describe('deploy/k8s: the overlays', () => {
  it.each(['trial', 'production'] as const)('%s: the gateway accepts its configuration, Secret values included', (variant) => {
    const env = gatewayEnv(rendered[variant]);
    const config = parseConfig(env);
    expect(config.port).toBe(DEFAULT_PORT);
    expect(config.backends.discovery).toBe('dns');
    expect(config.redis?.url).toBe(env.REDIS_URL);
    // Per backend, the gateway's admission equals vLLM's batch (vllm.md 8 "Suggested flags").
    expect(String(config.admission.maxConcurrent)).toBe(launchArgv[launchArgv.indexOf('--max-num-seqs') + 1]);
  });

  it('trial: REDIS_URL points at the in-cluster Redis, which only the gateway may reach', () => {
    const objects = rendered.trial;
    const url = new URL(gatewayEnv(objects).REDIS_URL ?? '');
    const svc = find(objects, 'Service', url.hostname);
    expect((svc.spec as { ports: Array<{ port: number }> }).ports.map((p) => String(p.port))).toContain(url.port);
    expect(containers(find(objects, 'Deployment', 'redis'))[0]?.image).toMatch(/^redis:\d+\.\d+\.\d+/);
    const policy = find(objects, 'NetworkPolicy', 'redis').spec as { ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }> };
    expect(policy.ingress[0]?.from[0]?.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'gateway' });
    expect((find(objects, 'ScaledObject', 'vllm').spec as { maxReplicaCount: number }).maxReplicaCount).toBe(2);
  });

  it('production: a managed Redis over TLS from the Secret, no Redis in the cluster, three gateways', () => {
    const objects = rendered.production;
    expect(gatewayEnv(objects).REDIS_URL).toMatch(/^rediss:\/\//);
    expect(objects.some((o) => o.metadata.name === 'redis')).toBe(false);
    expect((find(objects, 'Deployment', 'gateway').spec as { replicas: number }).replicas).toBe(3);
    expect((find(objects, 'HorizontalPodAutoscaler', 'gateway').spec as { minReplicas: number }).minReplicas).toBe(3);
    // The patch merged into the env list by name: the other variables are still there.
    const env = envOf(containers(find(objects, 'Deployment', 'gateway'))[0] as never);
    expect(env.get('REDIS_TIMEOUT_MS')).toBe('100');
    expect(env.get('VLLM_DISCOVERY')).toBe('dns');
  });

  it('both: the gateway image is replaced by a registry image with an immutable tag', () => {
    for (const variant of ['trial', 'production'] as const) {
      const image = containers(find(rendered[variant], 'Deployment', 'gateway'))[0]?.image ?? '';
      expect(image).toMatch(/^[a-z0-9.-]+\/vllm-gateway:[\w.-]+$/);
      expect(image).not.toMatch(/:latest$/);
    }
  });

  it('commits only example secrets: secrets.env is git-ignored', () => {
    expect(readFileSync(join(K8S_DIR, '.gitignore'), 'utf8')).toMatch(/^secrets\.env$/m);
    const tracked = execFileSync('git', ['ls-files', 'deploy/k8s'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(tracked).not.toMatch(/secrets\.env$/m);
  });
});

describe('deploy/k8s: KEDA and autoscaling numbers (peers-2026.md 7)', () => {
  const spec = find(rendered.base, 'ScaledObject', 'vllm').spec as {
    pollingInterval: number;
    cooldownPeriod: number;
    minReplicaCount: number;
    maxReplicaCount: number;
    triggers: Array<{ name: string; metadata: { query: string; threshold: string } }>;
    advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: number } } } };
  };

  it('scales vLLM between 1 and 4 on queue depth every 15 s, and scales in only after 6 min of calm', () => {
    expect(spec).toMatchObject({ pollingInterval: 15, cooldownPeriod: 360, minReplicaCount: 1, maxReplicaCount: 4 });
    expect(spec.triggers.find((t) => t.name === 'vllm-waiting')?.metadata).toMatchObject({
      query: `sum(vllm:num_requests_waiting{namespace="${NAMESPACE}",model_name="qwen2.5-7b-instruct"})`,
      threshold: '5',
    });
    // cooldownPeriod only governs scaling to zero; with minReplicaCount 1 the HPA behaviour paces scale-in.
    expect(spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(spec.cooldownPeriod);
  });

  it('holds the pods the running batch needs (threshold below --max-num-seqs)', () => {
    const running = spec.triggers.find((t) => t.name === 'vllm-running');
    expect(running?.metadata.query).toContain('vllm:num_requests_running');
    expect(Number(running?.metadata.threshold)).toBeLessThan(Number(launchArgv[launchArgv.indexOf('--max-num-seqs') + 1]));
  });
});

describe('deploy/k8s: the checks can fail', () => {
  const base = rendered.trial;
  const problems = (mutate: (objects: K8sObject[]) => void): string => {
    const copy = structuredClone(base) as K8sObject[];
    mutate(copy);
    return checkK8s(copy, expectations('trial')).join('\n');
  };
  const spec = (objects: K8sObject[], kind: string, name: string) => find(objects, kind, name).spec as Obj;
  const gatewayContainer = (objects: K8sObject[]) => containers(find(objects, 'Deployment', 'gateway'))[0] as Obj & { env: Obj[] };

  it.each([
    ['a Service selector that matches no pods', (o: K8sObject[]) => (spec(o, 'Service', 'gateway').selector = { 'app.kubernetes.io/name': 'gateway-typo' }), /Service\/gateway: selector matches no/],
    ['a Deployment whose selector misses its pods', (o: K8sObject[]) => (podTemplate(find(o, 'Deployment', 'vllm')).labels['app.kubernetes.io/name'] = 'engine'), /Deployment\/vllm: selector does not match/],
    ['a PDB selecting nothing', (o: K8sObject[]) => (spec(o, 'PodDisruptionBudget', 'gateway').selector = { matchLabels: { app: 'x' } }), /PodDisruptionBudget\/gateway: selector/],
    ['a wrong readiness path', (o: K8sObject[]) => (((gatewayContainer(o).readinessProbe as Obj).httpGet as Obj).path = '/ready'), /readinessProbe path/],
    ['a probe on a port the container lacks', (o: K8sObject[]) => (((gatewayContainer(o).livenessProbe as Obj).httpGet as Obj).port = 'metrics'), /livenessProbe port metrics/],
    ['an env name the gateway does not read', (o: K8sObject[]) => gatewayContainer(o).env.push({ name: 'VLLM_URLS', value: 'x' }), /VLLM_URLS is not read/],
    ['a Secret key nobody provides', (o: K8sObject[]) => delete (find(o, 'Secret', 'vllm-gateway').data as Obj).REDIS_URL, /key REDIS_URL, which is not provided/],
    ['a vLLM flag that drifted from launch.sh', (o: K8sObject[]) => {
      const args = containers(find(o, 'Deployment', 'vllm'))[0]?.args as string[];
      args[args.indexOf('--max-num-seqs') + 1] = '64';
    }, /vllm argv differs/],
    ['a KEDA query on a metric nobody exports', (o: K8sObject[]) => {
      const triggers = spec(o, 'ScaledObject', 'vllm').triggers as Array<{ metadata: Obj }>;
      (triggers[0] as { metadata: Obj }).metadata.query = 'sum(vllm_num_requests_waiting{namespace="vllm-gateway"})';
    }, /names vllm_num_requests_waiting/],
    ['a ClusterIP Service for vLLM', (o: K8sObject[]) => delete spec(o, 'Service', 'vllm').clusterIP, /is not headless/],
    ['an object outside the namespace', (o: K8sObject[]) => delete find(o, 'Secret', 'vllm-gateway').metadata.namespace, /Secret\/vllm-gateway is in namespace undefined/],
  ])('reports %s', (_what, mutate, message) => {
    expect(problems(mutate)).toMatch(message);
  });

  it('the schema check rejects a wrong type', () => {
    const copy = structuredClone(find(base, 'Deployment', 'gateway'));
    ((containers(copy)[0]?.ports ?? [])[0] as Obj).containerPort = '9000';
    expect(() => validate(copy)).toThrow(/containerPort must be integer/);
    const scaled = structuredClone(find(base, 'ScaledObject', 'vllm'));
    (scaled.spec as Obj).minReplicaCount = 'one';
    expect(() => validate(scaled)).toThrow(/minReplicaCount/);
  });
});

// The renderer above implements only part of kustomize: where kubectl is installed, its output must agree.
const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!kubectl) console.warn('k8s: `kubectl kustomize` comparison skipped: kubectl is not installed');

describe.skipIf(!kubectl)('deploy/k8s: kubectl kustomize renders the same objects', () => {
  it.each(['base', 'trial', 'production'] as const)('%s', (variant) => {
    const copy = join(dir, `k8s-${variant}`);
    cpSync(K8S_DIR, copy, { recursive: true });
    const sub = variant === 'base' ? 'base' : `overlays/${variant}`;
    if (variant !== 'base') cpSync(join(copy, sub, 'secrets.env.example'), join(copy, sub, 'secrets.env'));
    const out = execFileSync('kubectl', ['kustomize', join(copy, sub)], { encoding: 'utf8' });
    // kubectl folds long base64 values over several lines.
    const theirs = parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
    for (const s of theirs.filter((o) => o.kind === 'Secret')) {
      s.data = Object.fromEntries(Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [k, v.replace(/\s/g, '')]));
    }
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    const sort = (xs: K8sObject[]) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
    expect(sort(rendered[variant])).toEqual(sort(theirs));
  });
});
