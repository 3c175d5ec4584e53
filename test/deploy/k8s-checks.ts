/**
 * What a schema cannot see in rendered deploy/k8s objects, as a list of problems (empty: consistent), so a
 * test can break a copy and watch the right problem appear: selectors that match no pods, ports and probe
 * paths that are not the gateway's, env names the gateway does not read, Secret keys nobody provides,
 * vLLM flags that drifted from vllm/launch.sh, KEDA queries on metrics nobody exports.
 */
import { isObj, type K8sObject, type Obj } from './kustomize.js';

export interface Expectations {
  namespace: string;
  /** gateway/config.ts ENV_NAMES. */
  envNames: readonly string[];
  /** gateway/routes/paths.ts DEFAULT_PORT, PATHS.health, PATHS.livez. */
  gatewayPort: number;
  healthPath: string;
  livezPath: string;
  /** vllm/launch.sh's argv for the cluster (binary first). */
  vllmArgv: readonly string[];
  /** Metric names Prometheus can hold: vLLM's (vllm.md 7) and the gateway's (metrics.ts). */
  metrics: ReadonlySet<string>;
  /** False for the base alone, which brings no Secret. */
  requireSecrets: boolean;
}

type Container = Obj & { name: string; image?: string; ports?: Array<{ name?: string; containerPort: number }>; env?: Obj[] };

const arr = <T = Obj>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});

export function podTemplate(d: K8sObject): { labels: Record<string, string>; spec: Obj } {
  const t = obj(obj(d.spec).template);
  return { labels: (obj(t.metadata).labels ?? {}) as Record<string, string>, spec: obj(t.spec) };
}

export function containers(d: K8sObject): Container[] {
  return arr<Container>(podTemplate(d).spec.containers);
}

function matches(selector: unknown, labels: Record<string, string>): boolean {
  const want = Object.entries((obj(selector).matchLabels ?? selector ?? {}) as Record<string, string>);
  return want.length > 0 && want.every(([k, v]) => labels[k] === v);
}

/** The env of a container as name → literal value (undefined for valueFrom). */
export function envOf(c: Container): Map<string, string | undefined> {
  return new Map(arr(c.env).map((e) => [String(e.name), typeof e.value === 'string' ? e.value : undefined]));
}

function hasPort(cs: Container[], port: unknown): boolean {
  return cs.some((c) => arr<{ name?: string; containerPort: number }>(c.ports).some((p) => p.name === port || p.containerPort === port));
}

export function checkK8s(objects: readonly K8sObject[], x: Expectations): string[] {
  const problems: string[] = [];
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const deployments = of('Deployment');
  const selected = (selector: unknown) => deployments.filter((d) => matches(selector, podTemplate(d).labels));
  const deployment = (name: string) => deployments.find((d) => d.metadata.name === name);
  const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

  for (const o of objects) {
    if (o.kind !== 'Namespace' && o.metadata.namespace !== x.namespace) problems.push(`${id(o)} is in namespace ${String(o.metadata.namespace)}, not ${x.namespace}`);
  }

  for (const d of deployments) {
    if (!matches(obj(d.spec).selector, podTemplate(d).labels)) problems.push(`${id(d)}: selector does not match its pod labels`);
    for (const c of containers(d)) {
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const get = obj(obj(c[probe]).httpGet);
        if (get.port !== undefined && !hasPort([c], get.port)) problems.push(`${id(d)}: ${probe} port ${String(get.port)} is not a port of container ${c.name}`);
      }
    }
  }

  for (const s of of('Service')) {
    const spec = obj(s.spec);
    const pods = selected(spec.selector);
    if (pods.length === 0) problems.push(`${id(s)}: selector matches no Deployment's pods`);
    for (const p of arr(spec.ports)) {
      if (!pods.some((d) => hasPort(containers(d), p.targetPort ?? p.port))) problems.push(`${id(s)}: targetPort ${String(p.targetPort)} is not a container port of its pods`);
    }
  }
  for (const pdb of of('PodDisruptionBudget')) if (selected(obj(pdb.spec).selector).length === 0) problems.push(`${id(pdb)}: selector matches no pods`);
  for (const np of of('NetworkPolicy')) {
    const spec = obj(np.spec);
    const pods = selected(spec.podSelector);
    if (pods.length === 0) problems.push(`${id(np)}: podSelector matches no pods`);
    for (const rule of arr(spec.ingress)) {
      for (const from of arr(rule.from)) if (from.podSelector && selected(from.podSelector).length === 0) problems.push(`${id(np)}: a from.podSelector matches no pods`);
      for (const p of arr(rule.ports)) if (!pods.some((d) => hasPort(containers(d), p.port))) problems.push(`${id(np)}: port ${String(p.port)} is not a port of its pods`);
    }
  }
  for (const scaler of [...of('HorizontalPodAutoscaler'), ...of('ScaledObject')]) {
    const ref = obj(obj(scaler.spec).scaleTargetRef);
    if (!deployment(String(ref.name)) || (ref.kind !== undefined && ref.kind !== 'Deployment')) problems.push(`${id(scaler)}: scaleTargetRef ${String(ref.name)} is not a Deployment here`);
  }

  const secrets = new Map(of('Secret').map((s) => [s.metadata.name, new Set([...Object.keys(obj(s.data)), ...Object.keys(obj(s.stringData))])]));
  for (const d of deployments) {
    for (const c of containers(d)) {
      for (const e of arr(c.env)) {
        const ref = obj(obj(e.valueFrom).secretKeyRef);
        if (!ref.name || !x.requireSecrets) continue;
        if (!secrets.get(String(ref.name))?.has(String(ref.key))) problems.push(`${id(d)}: env ${String(e.name)} reads Secret ${String(ref.name)} key ${String(ref.key)}, which is not provided`);
      }
    }
  }

  problems.push(...checkGateway(objects, x), ...checkVllm(objects, x));
  return problems;
}

function checkGateway(objects: readonly K8sObject[], x: Expectations): string[] {
  const problems: string[] = [];
  const gw = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway');
  const c = gw ? containers(gw).find((k) => k.name === 'gateway') : undefined;
  if (!gw || !c) return ['Deployment/gateway with a container "gateway" is missing'];
  const env = envOf(c);
  for (const name of env.keys()) if (!x.envNames.includes(name)) problems.push(`gateway env ${name} is not read by the gateway (ENV_NAMES)`);
  if (!arr(c.ports).some((p) => p.containerPort === x.gatewayPort)) problems.push(`gateway container port is not ${x.gatewayPort}`);
  if (env.get('PORT') !== undefined && Number(env.get('PORT')) !== x.gatewayPort) problems.push(`gateway PORT ${String(env.get('PORT'))} is not ${x.gatewayPort}`);
  if (obj(obj(c.readinessProbe).httpGet).path !== x.healthPath) problems.push(`gateway readinessProbe path is not ${x.healthPath}`);
  if (obj(obj(c.livenessProbe).httpGet).path !== x.livezPath) problems.push(`gateway livenessProbe path is not ${x.livezPath}`);

  const { spec } = podTemplate(gw);
  const volumes = new Map(arr(spec.volumes).map((v) => [String(v.name), v]));
  const mounts = arr(c.volumeMounts);
  const mountedEmptyDir = (path: string) => mounts.some((m) => m.mountPath === path && volumes.get(String(m.name))?.emptyDir !== undefined);
  const sc = obj(c.securityContext);
  if (sc.readOnlyRootFilesystem !== true) problems.push('gateway: readOnlyRootFilesystem is not true');
  if (obj(spec.securityContext).runAsNonRoot !== true && sc.runAsNonRoot !== true) problems.push('gateway: runAsNonRoot is not true');
  for (const path of [env.get('DATA_DIR'), '/tmp']) if (!path || !mountedEmptyDir(path)) problems.push(`gateway: ${String(path)} is not an emptyDir mount`);
  if (!obj(obj(c.resources).requests).cpu) problems.push('gateway: no CPU request (the HPA divides by it)');

  // VLLM_URL names the headless Service of the vLLM pods, on its port.
  if (env.get('VLLM_DISCOVERY') !== 'dns') problems.push('gateway: VLLM_DISCOVERY is not dns');
  const url = new URL(env.get('VLLM_URL') ?? 'http://missing');
  const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === url.hostname.split('.')[0]);
  if (!svc) problems.push(`gateway: VLLM_URL host ${url.hostname} is no Service here`);
  else {
    if (obj(svc.spec).clusterIP !== 'None') problems.push(`Service/${svc.metadata.name} (VLLM_URL) is not headless`);
    if (!arr(obj(svc.spec).ports).some((p) => String(p.port) === url.port)) problems.push(`gateway: VLLM_URL port ${url.port} is not a port of Service/${svc.metadata.name}`);
    const pods = objects.filter((o) => o.kind === 'Deployment' && matches(obj(svc.spec).selector, podTemplate(o).labels));
    if (!pods.some((d) => containers(d).some((k) => k.name === 'vllm'))) problems.push(`Service/${svc.metadata.name} (VLLM_URL) does not select the vLLM pods`);
  }
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && obj(obj(o.spec).scaleTargetRef).name === 'gateway');
  if (!hpa || Number(obj(hpa.spec).minReplicas) < 2) problems.push('gateway: no HPA with minReplicas >= 2');
  const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && matches(obj(o.spec).selector, podTemplate(gw).labels));
  if (!pdb) problems.push('gateway: no PodDisruptionBudget selects its pods');
  const sleep = Number(obj(obj(obj(c.lifecycle).preStop).sleep).seconds ?? 0);
  const drain = Number(env.get('SHUTDOWN_GRACE_MS') ?? 25_000) / 1000;
  if (Number(spec.terminationGracePeriodSeconds ?? 30) < sleep + drain) problems.push('gateway: terminationGracePeriodSeconds is shorter than preStop + SHUTDOWN_GRACE_MS');
  return problems;
}

function checkVllm(objects: readonly K8sObject[], x: Expectations): string[] {
  const problems: string[] = [];
  const d = objects.find((o) => o.kind === 'Deployment' && containers(o).some((c) => c.name === 'vllm'));
  const c = d ? containers(d).find((k) => k.name === 'vllm') : undefined;
  if (!d || !c) return ['no Deployment runs a container "vllm"'];
  const argv = [...arr<string>(c.command), ...arr<string>(c.args)];
  if (JSON.stringify(argv) !== JSON.stringify(x.vllmArgv)) problems.push(`vllm argv differs from vllm/launch.sh's:\n  manifest: ${argv.join(' ')}\n  launch:   ${x.vllmArgv.join(' ')}`);
  const flag = (name: string) => argv[argv.indexOf(name) + 1];
  if (!arr(c.ports).some((p) => String(p.containerPort) === flag('--port'))) problems.push(`vllm container port is not --port ${flag('--port')}`);
  const limits = obj(obj(c.resources).limits);
  if (String(limits['nvidia.com/gpu']) !== '1') problems.push('vllm: limits nvidia.com/gpu is not 1');
  const startup = obj(c.startupProbe);
  if (obj(startup.httpGet).path !== '/health') problems.push('vllm: startupProbe is not on /health');
  const budget = Number(startup.initialDelaySeconds ?? 0) + Number(startup.periodSeconds ?? 10) * Number(startup.failureThreshold ?? 3);
  // A cold load is 1.5-4 min; vllm.md 8 says to plan probes for about 10 minutes.
  if (budget < 600) problems.push(`vllm: startupProbe allows ${budget} s, under the 600 s a cold load may need`);
  if (obj(obj(c.readinessProbe).httpGet).path !== '/health') problems.push('vllm: readinessProbe is not on /health');
  const sleep = Number(obj(obj(obj(c.lifecycle).preStop).sleep).seconds ?? 0);
  const grace = Number(podTemplate(d).spec.terminationGracePeriodSeconds ?? 30);
  if (grace < sleep + Number(flag('--shutdown-timeout') ?? 0)) problems.push('vllm: terminationGracePeriodSeconds is shorter than preStop + --shutdown-timeout');
  const { spec } = podTemplate(d);
  const volumes = new Map(arr(spec.volumes).map((v) => [String(v.name), v]));
  const claims = new Set(objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name));
  const cache = arr(c.volumeMounts).map((m) => volumes.get(String(m.name))).find((v) => v?.persistentVolumeClaim);
  if (!cache || !claims.has(String(obj(cache.persistentVolumeClaim).claimName))) problems.push('vllm: no model cache volume backed by a PersistentVolumeClaim defined here');

  const scaler = objects.find((o) => o.kind === 'ScaledObject' && obj(obj(o.spec).scaleTargetRef).name === d.metadata.name);
  if (!scaler) return [...problems, `no ScaledObject scales Deployment/${d.metadata.name}`];
  const triggers = arr(obj(scaler.spec).triggers);
  const servedName = flag('--served-model-name');
  for (const t of triggers) {
    const meta = obj(t.metadata);
    const query = String(meta.query ?? '');
    if (t.type !== 'prometheus') problems.push(`ScaledObject trigger ${String(t.name)} is not prometheus`);
    for (const m of query.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}/g)) {
      if (!x.metrics.has(m[1] as string)) problems.push(`ScaledObject query names ${m[1]}, which neither vLLM nor the gateway exports`);
      const labels = new Map([...(m[2] as string).matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      if (labels.get('namespace') !== x.namespace) problems.push(`ScaledObject query ${m[1]} is not limited to namespace ${x.namespace}`);
      if (labels.has('model_name') && labels.get('model_name') !== servedName) problems.push(`ScaledObject query model_name is not --served-model-name ${String(servedName)}`);
    }
    if (meta.ignoreNullValues !== 'false') problems.push(`ScaledObject trigger ${String(t.name)}: ignoreNullValues is not "false" (a broken query would read as 0)`);
    if (!/^\d+(\.\d+)?$/.test(String(meta.threshold))) problems.push(`ScaledObject trigger ${String(t.name)}: threshold is not a number`);
  }
  if (!triggers.some((t) => /^sum\(vllm:num_requests_waiting\{[^}]*\}\)$/.test(String(obj(t.metadata).query)))) problems.push('ScaledObject: no trigger on sum(vllm:num_requests_waiting{...})');
  return problems;
}
