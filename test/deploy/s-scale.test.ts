/**
 * s.scale.yaml (several GPU instances), checked offline like s.yaml: the fc3 component's JSON Schema, FC's
 * documented limits for one instance (fc-constraints.ts checkFcConstraints) and for several
 * (checkFcScaleConstraints), and agreement with the gateway's code. It must stay s.yaml plus scale-out:
 * everything else is compared with s.yaml itself.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';
import { checkFcConstraints, checkFcScaleConstraints } from './fc-constraints.js';
import { envReferences, loadFc3Schema, parseSProject, readSYamlText, resolveSProject, S_SCALE_YAML_PATH, type Json, type Props } from './s-yaml.js';

/** Stand-ins for the operator's environment at deploy time. */
const DEPLOY_ENV = {
  IMAGE_TAG: '2026-11-22-abc1234',
  GATEWAY_API_KEYS: 'team-a:sk-test-0123456789',
  METRICS_TOKEN: 'metrics-test-token',
  SLS_PROJECT: 'vllm-gateway-logs',
  SLS_LOGSTORE: 'gateway',
  FC_VPC_ID: 'vpc-bp1example',
  FC_VSWITCH_ID: 'vsw-bp1example',
  FC_SECURITY_GROUP_ID: 'sg-bp1example',
  REDIS_URL: 'redis://:tair-password@r-bp1example.redis.rds.aliyuncs.com:6379/0',
};

const text = readSYamlText(S_SCALE_YAML_PATH);
const project = parseSProject(text);
const props = (resolveSProject(project, DEPLOY_ENV).resources.llm?.props ?? {}) as Props;
const single = (resolveSProject(parseSProject(readSYamlText()), DEPLOY_ENV).resources.llm?.props ?? {}) as Props;
const env = (props.environmentVariables ?? {}) as Record<string, string>;

type Policy = { metricType: string; metricTarget: number; minCapacity: number; maxCapacity: number };
const provision = props.provisionConfig as { defaultTarget: number; alwaysAllocateGPU: boolean; targetTrackingPolicies: Policy[] };
const cap = (props.concurrencyConfig as { reservedConcurrency: number }).reservedConcurrency;

function clone(p: Props): Props {
  return structuredClone(p);
}

describe('s.scale.yaml: shape', () => {
  it('is s.yaml plus scale-out: same function, image, sizes, hooks, trigger and logging', () => {
    expect(Object.keys(project.resources)).toEqual(['llm']);
    const scaleOnly = new Set(['provisionConfig', 'concurrencyConfig', 'vpcConfig', 'sessionAffinity', 'sessionAffinityConfig', 'environmentVariables', 'description']);
    for (const [key, value] of Object.entries(single)) {
      if (!scaleOnly.has(key)) expect(props[key], key).toEqual(value);
    }
    // The environment adds shared state only; s.yaml's variables keep their values.
    const singleEnv = single.environmentVariables as Record<string, string>;
    for (const [name, value] of Object.entries(singleEnv)) expect(env[name], name).toBe(value);
    expect(Object.keys(env).filter((k) => !(k in singleEnv)).sort()).toEqual(['RATE_LIMIT_ON_STORE_ERROR', 'REDIS_TIMEOUT_MS', 'REDIS_URL']);
  });

  it('keeps one provisioned instance (idle mode) and tracks more on ProvisionedConcurrencyUtilization, within the cap', () => {
    expect(provision.defaultTarget).toBe(1);
    expect(provision.alwaysAllocateGPU).toBe(false);
    expect(props).not.toHaveProperty('scalingConfig');
    expect(provision.targetTrackingPolicies).toHaveLength(1);
    const policy = provision.targetTrackingPolicies[0] as Policy;
    // FC cannot see vLLM's queue; in-flight per instance is what it measures (peers-2026.md 8).
    expect(policy.metricType).toBe('ProvisionedConcurrencyUtilization');
    expect(policy).toMatchObject({ minCapacity: 1, maxCapacity: 3 });
    // Room for on-demand instances above the tracked ones, and a hard cap on GPU spend.
    expect(cap).toBeGreaterThan(policy.maxCapacity);
    expect(cap).toBeLessThanOrEqual(8);
  });

  it("scales out when an instance's in-flight requests pass vLLM's batch (the gateway's queue starts)", () => {
    const config = parseConfig(env);
    const policy = provision.targetTrackingPolicies[0] as Policy;
    expect(policy.metricTarget * (props.instanceConcurrency as number)).toBe(config.admission.maxConcurrent);
    expect(Number(env.MAX_NUM_SEQS)).toBe(config.admission.maxConcurrent);
  });

  it('shares state through a Tair/Redis URL from the environment (no default), reached through the VPC', () => {
    expect((project.resources.llm?.props.environmentVariables as Record<string, string>).REDIS_URL).toBe("${env('REDIS_URL')}");
    expect(envReferences(text).has('REDIS_URL')).toBe(true);
    expect(envReferences(text).get('REDIS_URL')).toBeUndefined();
    expect(() => resolveSProject(project, { ...DEPLOY_ENV, REDIS_URL: undefined })).toThrow(/REDIS_URL/);
    expect(props.vpcConfig).toEqual({ vpcId: DEPLOY_ENV.FC_VPC_ID, vSwitchIds: [DEPLOY_ENV.FC_VSWITCH_ID], securityGroupId: DEPLOY_ENV.FC_SECURITY_GROUP_ID });
    for (const name of ['FC_VPC_ID', 'FC_VSWITCH_ID', 'FC_SECURITY_GROUP_ID']) expect(envReferences(text).get(name), name).toBeUndefined();
    // Private network only: the engine and gateway need no internet, Tair is in the VPC.
    expect(props.internetAccess).toBe(false);
  });

  it("keeps a conversation on its instance by the gateway's own session header", () => {
    expect(props.sessionAffinity).toBe('HEADER_FIELD');
    expect(props.sessionAffinityConfig).toMatchObject({ affinityHeaderFieldName: 'x-session-id' });
    const affinity = props.sessionAffinityConfig as { sessionConcurrencyPerInstance: number };
    expect(affinity.sessionConcurrencyPerInstance).toBeLessThanOrEqual(props.instanceConcurrency as number);
  });

  it('the gateway accepts the configuration: Redis on, the one local engine, a data dir on the writable layer', () => {
    const config = parseConfig(env);
    expect(config.redis).toEqual({ url: DEPLOY_ENV.REDIS_URL, timeoutMs: 50 });
    expect(config.rateLimit.onStoreError).toBe('local');
    expect(config.vllmUrls).toEqual(['http://127.0.0.1:8000']);
    expect(config.state.dataDir).toMatch(/^\/tmp\//);
  });
});

describe('s.scale.yaml: fc3 JSON Schema (shared/reference/fc3-props.schema.json)', () => {
  const schema = loadFc3Schema();
  if (!schema.available) console.warn(`s.scale.yaml schema check skipped: ${schema.reason}`);

  it.skipIf(!schema.available)('validates against the fc3 props schema', () => {
    expect(schema.validate?.(props)).toEqual([]);
  });

  it.skipIf(!schema.available)('the schema catches a policy without its time window and a vpcConfig without a security group', () => {
    const broken = clone(props);
    delete ((broken.provisionConfig as { targetTrackingPolicies: Array<Record<string, Json>> }).targetTrackingPolicies[0] as Record<string, Json>).timeZone;
    delete (broken.vpcConfig as Record<string, Json>).securityGroupId;
    const paths = (schema.validate?.(broken) ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('\n');
    expect(paths).toMatch(/targetTrackingPolicies\/0 .*timeZone/);
    expect(paths).toMatch(/vpcConfig/);
  });
});

describe("s.scale.yaml: Function Compute's documented limits", () => {
  it('fits the single-instance limits and the scale-out ones', () => {
    expect(checkFcConstraints(props)).toEqual([]);
    expect(checkFcScaleConstraints(props)).toEqual([]);
  });

  it('s.yaml fits the scale-out checks too (one instance, no policy)', () => {
    expect(checkFcScaleConstraints(single)).toEqual([]);
  });

  const policy = (p: Props) => (p.provisionConfig as { targetTrackingPolicies: Array<Record<string, Json>> }).targetTrackingPolicies[0] as Record<string, Json>;
  it.each([
    ['tracked capacity above the instance cap', (p: Props) => (policy(p).maxCapacity = 9), /maxCapacity 9 exceeds reservedConcurrency/],
    ['a metric FC cannot see', (p: Props) => (policy(p).metricType = 'vllm:num_requests_waiting'), /not one FC scales on/],
    ['a utilisation target above 1', (p: Props) => (policy(p).metricTarget = 50), /metricTarget/],
    ['an inverted time window', (p: Props) => (policy(p).endTime = '2025-01-01T00:00:00Z'), /startTime is not before endTime/],
    ['no instance cap', (p: Props) => delete p.concurrencyConfig, /reservedConcurrency is missing/],
    ['an x-fc- affinity header', (p: Props) => ((p.sessionAffinityConfig as Record<string, Json>).affinityHeaderFieldName = 'x-fc-session'), /affinityHeaderFieldName/],
    ['more sessions per instance than instanceConcurrency', (p: Props) => ((p.sessionAffinityConfig as Record<string, Json>).sessionConcurrencyPerInstance = 100), /sessionConcurrencyPerInstance = 100/],
    ['a session TTL above 6 h', (p: Props) => ((p.sessionAffinityConfig as Record<string, Json>).sessionTTLInSeconds = 86_400), /sessionTTLInSeconds/],
    ['a vSwitch that is no vSwitch id', (p: Props) => ((p.vpcConfig as Record<string, Json>).vSwitchIds = ['sg-1']), /vSwitchIds/],
    ['NAS without a VPC', (p: Props) => {
      delete p.vpcConfig;
      p.nasConfig = { userId: 2000, groupId: 0, mountPoints: [{ serverAddr: 'x.nas.aliyuncs.com:/', mountDir: '/mnt/data' }] };
    }, /nasConfig needs vpcConfig/],
  ])('reports %s', (_what, mutate, message) => {
    const broken = clone(props);
    mutate(broken);
    expect(checkFcScaleConstraints(broken).join('\n')).toMatch(message);
  });
});
