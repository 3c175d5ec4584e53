/**
 * Function Compute's documented limits that the fc3 JSON Schema does not check (fc3.md 5, "Not caught"),
 * as a list of problems for one function's resolved props. Empty list: the props fit.
 */
import type { Json, Props } from './s-yaml.js';

const T4 = 'fc.gpu.tesla.1';

type Obj = { [key: string]: Json };

function obj(value: Json | undefined): Obj | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

function num(value: Json | undefined): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** `value` within [min, max] and, when `step` is given, a whole multiple of it (to 1e-9). */
function inRange(problems: string[], name: string, value: number | undefined, min: number, max: number, step?: number): void {
  if (value === undefined) {
    problems.push(`${name} is missing`);
    return;
  }
  if (value < min || value > max) problems.push(`${name} = ${value} is outside ${min}..${max}`);
  if (step !== undefined && Math.abs(value / step - Math.round(value / step)) > 1e-9) problems.push(`${name} = ${value} is not a multiple of ${step}`);
}

export function checkFcConstraints(props: Props): string[] {
  const problems: string[] = [];
  const cpu = num(props.cpu);
  const memory = num(props.memorySize);
  const gpu = obj(props.gpuConfig);

  // fc3.md 1.2: omitting timeout gives 3 s.
  if (props.timeout === undefined) problems.push('timeout is not set (the fc3 component would use 3 s)');
  inRange(problems, 'timeout', num(props.timeout), 1, 86_400, 1);

  // fc3.md 2.1: vCPU in 0.05 steps, memory in 64 MB steps, vCPU : memory(GB) between 1:1 and 1:4.
  inRange(problems, 'cpu', cpu, 0.05, 16, 0.05);
  // 32 GB for CPU functions; GPU functions go higher (Ada examples use 64 GB), the T4 cap follows below.
  inRange(problems, 'memorySize', memory, 128, gpu ? 131_072 : 32_768, 64);
  if (cpu !== undefined && memory !== undefined) {
    const gb = memory / 1024;
    if (gb < cpu || gb > cpu * 4) problems.push(`cpu:memory = ${cpu} vCPU : ${gb} GB is outside 1:1..1:4`);
  }
  // fc3.md 2.3: 512 MB or 10 GB of disk.
  if (props.diskSize !== 512 && props.diskSize !== 10_240) problems.push(`diskSize = ${String(props.diskSize)} is neither 512 nor 10240`);

  // fc3.md 2.1: a T4 caps vCPU at GPU GB / 2 and memory at GPU GB x 2048 MB; GPU memory 1-16 GB in 1 GB steps.
  if (gpu?.gpuType === T4) {
    const gpuMb = num(gpu.gpuMemorySize);
    inRange(problems, 'gpuConfig.gpuMemorySize', gpuMb, 1024, 16_384, 1024);
    if (gpuMb !== undefined) {
      const gpuGb = gpuMb / 1024;
      if (cpu !== undefined && cpu > gpuGb / 2) problems.push(`cpu = ${cpu} exceeds the T4 cap of ${gpuGb / 2} vCPU for ${gpuGb} GB`);
      if (memory !== undefined && memory > gpuGb * 2048) problems.push(`memorySize = ${memory} exceeds the T4 cap of ${gpuGb * 2048} MB for ${gpuGb} GB`);
    }
  }

  // fc3.md 1.3 / 2.2: health-check ranges.
  const container = obj(props.customContainerConfig);
  const health = obj(container?.healthCheckConfig);
  if (!health) problems.push('customContainerConfig.healthCheckConfig is missing');
  else {
    if (typeof health.httpGetUrl !== 'string' || !health.httpGetUrl.startsWith('/') || health.httpGetUrl.length > 2048) problems.push('healthCheckConfig.httpGetUrl must be a path of at most 2048 characters');
    inRange(problems, 'healthCheckConfig.initialDelaySeconds', num(health.initialDelaySeconds), 0, 120, 1);
    inRange(problems, 'healthCheckConfig.periodSeconds', num(health.periodSeconds), 1, 120, 1);
    inRange(problems, 'healthCheckConfig.timeoutSeconds', num(health.timeoutSeconds), 1, 3, 1);
    inRange(problems, 'healthCheckConfig.failureThreshold', num(health.failureThreshold), 1, 120, 1);
    inRange(problems, 'healthCheckConfig.successThreshold', num(health.successThreshold), 1, 120, 1);
  }

  // fc3.md 1.2: the component throws when both are given; fc3.md 5: provisionConfig needs all five keys.
  const provision = obj(props.provisionConfig);
  const scaling = obj(props.scalingConfig);
  if ((provision === undefined) === (scaling === undefined)) problems.push('exactly one of provisionConfig and scalingConfig must be set');
  if (provision) {
    for (const key of ['defaultTarget', 'alwaysAllocateCPU', 'alwaysAllocateGPU', 'scheduledActions', 'targetTrackingPolicies']) {
      if (!(key in provision)) problems.push(`provisionConfig.${key} is missing`);
    }
  }

  // fc3.md 1.5: one HTTP trigger per function version or alias.
  const triggers = Array.isArray(props.triggers) ? props.triggers.map(obj) : [];
  const http = triggers.filter((t) => t?.triggerType === 'http');
  if (http.length !== 1) problems.push(`expected exactly one HTTP trigger, found ${http.length}`);

  // fc3.md 3.8: a tag, never `latest`, since FC pins tag and digest at deploy.
  const image = typeof container?.image === 'string' ? container.image : '';
  const tag = /:([^:/@]+)$/.exec(image)?.[1];
  if (!tag) problems.push(`customContainerConfig.image "${image}" has no tag`);
  else if (tag === 'latest') problems.push('customContainerConfig.image uses the mutable tag "latest"');

  // fc3.md 1.3: schema range for instanceConcurrency; environment values must be strings.
  inRange(problems, 'instanceConcurrency', num(props.instanceConcurrency), 1, 200, 1);
  const env = obj(props.environmentVariables) ?? {};
  for (const [key, value] of Object.entries(env)) if (typeof value !== 'string') problems.push(`environmentVariables.${key} is not a string`);

  return problems;
}

/** What FC can scale on (ScalingPolicy / TargetTrackingPolicy metricType, peers-2026.md 8). */
const SCALING_METRICS = new Set(['ProvisionedConcurrencyUtilization', 'CPUUtilization', 'GPUMemUtilization']);

/**
 * The limits of several instances (fc3.md 1.3, 1.6; peers-2026.md 8), on top of checkFcConstraints: target
 * tracking within the instance cap, header session affinity within its documented ranges, and a complete
 * vpcConfig wherever one is needed (NAS, private Redis).
 */
export function checkFcScaleConstraints(props: Props): string[] {
  const problems: string[] = [];
  const cap = num(obj(props.concurrencyConfig)?.reservedConcurrency);
  if (cap === undefined) problems.push('concurrencyConfig.reservedConcurrency is missing: nothing caps the number of GPU instances');
  const provision = obj(props.provisionConfig);
  const floor = num(provision?.defaultTarget) ?? num(obj(props.scalingConfig)?.minInstances) ?? 0;
  if (cap !== undefined && floor > cap) problems.push(`${floor} kept instances exceed reservedConcurrency ${cap}`);
  const policies = Array.isArray(provision?.targetTrackingPolicies) ? provision.targetTrackingPolicies.map(obj) : [];
  for (const [i, p] of policies.entries()) {
    const name = `provisionConfig.targetTrackingPolicies[${i}]`;
    if (!p) continue;
    if (typeof p.metricType !== 'string' || !SCALING_METRICS.has(p.metricType)) problems.push(`${name}.metricType ${String(p.metricType)} is not one FC scales on`);
    const target = num(p.metricTarget);
    if (target === undefined || target <= 0 || target > 1) problems.push(`${name}.metricTarget must be a utilisation in (0, 1]`);
    const min = num(p.minCapacity);
    const max = num(p.maxCapacity);
    if (min === undefined || max === undefined || min > max) problems.push(`${name}: minCapacity must be at most maxCapacity`);
    if (max !== undefined && cap !== undefined && max > cap) problems.push(`${name}.maxCapacity ${max} exceeds reservedConcurrency ${cap}`);
    if (min !== undefined && min > floor && floor > 0) problems.push(`${name}.minCapacity ${min} exceeds defaultTarget ${floor}`);
    for (const t of ['startTime', 'endTime']) if (typeof p[t] !== 'string' || Number.isNaN(Date.parse(p[t] as string))) problems.push(`${name}.${t} is not a date`);
    if (typeof p.startTime === 'string' && typeof p.endTime === 'string' && Date.parse(p.startTime) >= Date.parse(p.endTime)) problems.push(`${name}: startTime is not before endTime`);
  }

  // fc3.md 1.6: HeaderFieldSessionAffinityConfig ranges; sessions per instance <= instanceConcurrency.
  if (props.sessionAffinity === 'HEADER_FIELD') {
    const a = obj(props.sessionAffinityConfig);
    const header = typeof a?.affinityHeaderFieldName === 'string' ? a.affinityHeaderFieldName : '';
    if (!/^[A-Za-z][A-Za-z0-9_-]{4,39}$/.test(header) || /^x-fc-/i.test(header)) problems.push(`sessionAffinityConfig.affinityHeaderFieldName "${header}" must be 5-40 letters, digits, - or _, start with a letter, and not start with x-fc-`);
    inRange(problems, 'sessionAffinityConfig.sessionConcurrencyPerInstance', num(a?.sessionConcurrencyPerInstance), 1, Math.min(200, num(props.instanceConcurrency) ?? 200), 1);
    inRange(problems, 'sessionAffinityConfig.sessionTTLInSeconds', num(a?.sessionTTLInSeconds), 1, 21_600, 1);
    inRange(problems, 'sessionAffinityConfig.sessionIdleTimeoutInSeconds', num(a?.sessionIdleTimeoutInSeconds), 0, 21_600, 1);
    if (props.instanceIsolationMode !== undefined && props.instanceIsolationMode !== 'SHARE') problems.push('session affinity needs instanceIsolationMode SHARE');
  }

  // fc3.md 1.3: NAS needs a VPC; an explicit vpcConfig names a VPC, at least one vSwitch and a security group.
  const vpc = props.vpcConfig;
  if (props.nasConfig !== undefined && vpc === undefined) problems.push('nasConfig needs vpcConfig');
  const v = obj(vpc);
  if (v) {
    if (typeof v.vpcId !== 'string' || !/^vpc-/.test(v.vpcId)) problems.push('vpcConfig.vpcId must be a vpc-... id');
    const switches = Array.isArray(v.vSwitchIds) ? v.vSwitchIds : [];
    if (switches.length === 0 || !switches.every((s) => typeof s === 'string' && /^vsw-/.test(s))) problems.push('vpcConfig.vSwitchIds must list vsw-... ids');
    if (typeof v.securityGroupId !== 'string' || !/^sg-/.test(v.securityGroupId)) problems.push('vpcConfig.securityGroupId must be an sg-... id');
  }
  return problems;
}
