/**
 * s.yaml, checked offline: the fc3 component's JSON Schema, Function Compute's documented limits
 * (fc3.md 5), and agreement with the gateway's code (port, paths, admission, timeouts, config).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';
import { DEFAULT_PORT, PATHS } from '../../gateway/routes/paths.js';
import { checkFcConstraints } from './fc-constraints.js';
import { envReferences, loadFc3Schema, parseSProject, readSYamlText, resolveSProject, type Json, type Props } from './s-yaml.js';

/** Stand-ins for the operator's environment at deploy time. */
const DEPLOY_ENV = {
  IMAGE_TAG: '2026-11-22-abc1234',
  GATEWAY_API_KEYS: 'team-a:sk-test-0123456789',
  METRICS_TOKEN: 'metrics-test-token',
  SLS_PROJECT: 'vllm-gateway-logs',
  SLS_LOGSTORE: 'gateway',
};

const text = readSYamlText();
const project = parseSProject(text);
const resolved = resolveSProject(project, DEPLOY_ENV);
const resources = Object.entries(resolved.resources);
const [, llm] = resources[0] ?? [];
const props = (llm?.props ?? {}) as Props;
const env = (props.environmentVariables ?? {}) as Record<string, string>;
const container = props.customContainerConfig as { port: number; image: string; healthCheckConfig: { httpGetUrl: string } };
const hooks = props.instanceLifecycleConfig as { initializer: { handler: string; timeout: number }; preStop: { handler: string; timeout: number } };

function clone(p: Props): Props {
  return structuredClone(p);
}

describe('s.yaml: shape', () => {
  it('is a Serverless Devs 3.x project with one fc3 GPU function', () => {
    expect(project.edition).toBe('3.0.0');
    expect(resources).toHaveLength(1);
    expect(llm?.component).toBe('fc3');
    expect(props).toMatchObject({
      runtime: 'custom-container',
      cpu: 4,
      memorySize: 16_384,
      diskSize: 10_240,
      timeout: 360,
      gpuConfig: { gpuType: 'fc.gpu.tesla.1', gpuMemorySize: 16_384 },
    });
  });

  it('takes the image from ACR through vars, with an immutable tag that has no default', () => {
    const raw = project.resources.llm?.props.customContainerConfig as { image: string };
    expect(raw.image).toMatch(/\$\{vars\.[A-Za-z]+\}/);
    expect(container.image).toBe(`registry.cn-hangzhou.aliyuncs.com/vllm-gateway/vllm-gateway-fc:${DEPLOY_ENV.IMAGE_TAG}`);
    // No default: forgetting IMAGE_TAG fails the deploy instead of shipping a mutable tag.
    expect(envReferences(text).get('IMAGE_TAG')).toBeUndefined();
    expect(() => resolveSProject(project, { ...DEPLOY_ENV, IMAGE_TAG: undefined })).toThrow(/IMAGE_TAG/);
    expect(text).not.toMatch(/:latest\b/);
  });

  it('reads every secret from the environment, never from the file', () => {
    const rawEnv = project.resources.llm?.props.environmentVariables as Record<string, string>;
    for (const name of ['API_KEYS', 'METRICS_TOKEN']) expect(rawEnv[name]).toMatch(/^\$\{env\('[A-Z_]+'\)\}$/);
    expect(rawEnv).not.toHaveProperty('VLLM_API_KEY');
    for (const [name, fallback] of envReferences(text)) {
      if (/KEY|TOKEN|SECRET|PASSWORD/.test(name)) expect(fallback, `${name} must not have a default`).toBeUndefined();
    }
  });

  it('has one anonymous HTTP trigger (the gateway checks API keys) and SLS logging', () => {
    const triggers = props.triggers as Array<{ triggerType: string; triggerConfig: { authType: string; methods: string[] } }>;
    expect(triggers).toHaveLength(1);
    expect(triggers[0]).toMatchObject({ triggerType: 'http', triggerConfig: { authType: 'anonymous' } });
    expect(triggers[0]?.triggerConfig.methods).toEqual(expect.arrayContaining(['GET', 'POST']));
    expect(props.logConfig).toMatchObject({ project: DEPLOY_ENV.SLS_PROJECT, logstore: DEPLOY_ENV.SLS_LOGSTORE });
  });

  it('keeps exactly one instance allocated and caps the function at one instance', () => {
    expect(props.provisionConfig).toMatchObject({ defaultTarget: 1, scheduledActions: [], targetTrackingPolicies: [] });
    expect(typeof (props.provisionConfig as Record<string, Json>).alwaysAllocateGPU).toBe('boolean');
    expect(props).not.toHaveProperty('scalingConfig');
    expect(props.concurrencyConfig).toEqual({ reservedConcurrency: 1 });
  });
});

describe('s.yaml: fc3 JSON Schema (shared/reference/fc3-props.schema.json)', () => {
  const schema = loadFc3Schema();
  if (!schema.available) console.warn(`s.yaml schema check skipped: ${schema.reason}`);

  it.skipIf(!schema.available)('every resource validates against the fc3 props schema', () => {
    for (const [name, resource] of resources) {
      expect(schema.validate?.(resource.props), `resource ${name}`).toEqual([]);
    }
  });

  it.skipIf(!schema.available)('the schema check catches a wrong type (so the check above can fail)', () => {
    const broken = clone(props);
    broken.timeout = '360';
    expect(schema.validate?.(broken).map((e) => e.instancePath)).toContain('/timeout');
  });

  it.skipIf(!schema.available)('ignores only the schema errors fc3.md 5 lists as stale', () => {
    const ada = clone(props);
    ada.gpuConfig = { gpuType: 'fc.gpu.ada.1', gpuMemorySize: 49_152 };
    expect(schema.validate?.(ada)).toEqual([]);
    const wrongGpu = clone(props);
    wrongGpu.gpuConfig = { gpuType: 'fc.gpu.tesla.9', gpuMemorySize: 16_384 };
    expect(schema.validate?.(wrongGpu).map((e) => e.instancePath)).toContain('/gpuConfig/gpuType');
  });
});

describe("s.yaml: Function Compute's documented limits (fc3.md 5)", () => {
  it('fits the T4 caps, the cpu:memory ratio, the health-check ranges and the rest', () => {
    expect(checkFcConstraints(props)).toEqual([]);
  });

  it.each([
    ['more vCPU than a 16 GB T4 allows', (p: Props) => (p.cpu = 9), /T4 cap/],
    ['a cpu:memory ratio above 1:4', (p: Props) => (p.memorySize = 20_480), /1:1\.\.1:4/],
    ['a health-check timeout above 3 s', (p: Props) => ((p.customContainerConfig as { healthCheckConfig: Record<string, Json> }).healthCheckConfig.timeoutSeconds = 5), /timeoutSeconds/],
    ['no timeout', (p: Props) => delete p.timeout, /timeout is not set/],
    ['both provision and scaling config', (p: Props) => (p.scalingConfig = { minInstances: 1 }), /exactly one of provisionConfig/],
    ['a second HTTP trigger', (p: Props) => (p.triggers as Json[]).push((p.triggers as Json[])[0] as Json), /exactly one HTTP trigger/],
    ['the latest tag', (p: Props) => ((p.customContainerConfig as Record<string, Json>).image = 'registry.cn-hangzhou.aliyuncs.com/ns/img:latest'), /latest/],
    ['a number in the environment', (p: Props) => ((p.environmentVariables as Record<string, Json>).PORT = 9000), /not a string/],
  ])('reports %s', (_what, mutate, message) => {
    const broken = clone(props);
    mutate(broken);
    expect(checkFcConstraints(broken).join('\n')).toMatch(message);
  });
});

describe('s.yaml agrees with the gateway code', () => {
  it('sends traffic to the port and health path the gateway serves', () => {
    expect(container.port).toBe(DEFAULT_PORT);
    expect(Number(env.PORT)).toBe(DEFAULT_PORT);
    expect(container.healthCheckConfig.httpGetUrl).toBe(PATHS.health);
  });

  it("configures both lifecycle hooks, whose fixed FC paths are the gateway's routes (fc3.md 3.4)", () => {
    // For custom containers FC calls POST /initialize and GET /pre-stop; the paths are not configurable.
    expect(PATHS.initialize).toBe('/initialize');
    expect(PATHS.preStop).toBe('/pre-stop');
    expect(hooks.initializer.handler).toBe(PATHS.initialize);
    expect(hooks.preStop.handler).toBe(PATHS.preStop);
    expect(hooks.initializer.timeout).toBeGreaterThanOrEqual(1);
    expect(hooks.preStop.timeout).toBeGreaterThanOrEqual(1);
  });

  it('gives each gateway wait less time than FC gives it', () => {
    const config = parseConfig(env);
    expect(config.initializeTimeoutMs).toBeLessThan(hooks.initializer.timeout * 1000);
    expect(config.shutdownGraceMs).toBeLessThan(hooks.preStop.timeout * 1000);
    expect(config.timeouts.requestMs).toBeLessThan((props.timeout as number) * 1000);
  });

  it("matches instanceConcurrency to the gateway's admission limits, and those to vLLM's batch", () => {
    const config = parseConfig(env);
    expect(props.instanceConcurrency).toBe(config.admission.maxConcurrent + config.admission.maxQueue);
    expect(Number(env.MAX_CONCURRENT_REQUESTS) + Number(env.MAX_QUEUE)).toBe(props.instanceConcurrency);
    expect(Number(env.MAX_NUM_SEQS)).toBe(config.admission.maxConcurrent);
  });

  it('is a configuration the gateway accepts, pointing at the engine port launch.sh binds', () => {
    const config = parseConfig(env);
    expect(config.nodeEnv).toBe('production');
    expect(config.port).toBe(DEFAULT_PORT);
    expect(new URL(config.vllmUrl ?? '').port).toBe(env.ENGINE_PORT);
    expect(new URL(config.vllmUrl ?? '').hostname).toBe('127.0.0.1');
  });
});
