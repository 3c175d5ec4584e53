import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Backend, parseBackendUrl } from '../../../gateway/backends/backend.js';
import { registerBackendMetrics, MAX_BACKEND_LABELS } from '../../../gateway/backends/metrics.js';
import { parseConfig, type Env } from '../../../gateway/config.js';

const configOf = (env: Env = {}) => parseConfig({ ALLOW_ANONYMOUS: 'true', VLLM_API_KEY: 'default-key', ...env });
const backends: Backend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.stop()));
});
function make(url: string, extra: Partial<ConstructorParameters<typeof Backend>[0]> = {}, env: Env = {}, now?: () => number): Backend {
  const b = new Backend({ url, ...extra }, { config: configOf(env), now });
  backends.push(b);
  return b;
}

describe('Backend identity, labels and credentials', () => {
  it('id is the dialled origin; name defaults to host:port; weight 1; maxConcurrent from MAX_CONCURRENT_REQUESTS', () => {
    const b = make('http://10.0.0.5:8000/', {}, { MAX_CONCURRENT_REQUESTS: '12' });
    expect(b.id).toBe('http://10.0.0.5:8000');
    expect(b.name).toBe('10.0.0.5:8000');
    expect(b.displayUrl).toBe('http://10.0.0.5:8000');
    expect(b.weight).toBe(1);
    expect(b.maxConcurrent).toBe(12);
    expect(b.apiKey).toBe('default-key');
    expect(make('https://gpu.example').name).toBe('gpu.example:443');
  });

  it("strips userinfo from every label and uses it only as the bearer key when the spec has none", () => {
    const b = make('http://user:s%3Acret@10.0.0.5:8000');
    expect(b.id).toBe('http://10.0.0.5:8000');
    expect(`${b.name} ${b.displayUrl} ${b.id}`).not.toMatch(/user|cret/);
    expect(b.apiKey).toBe('s:cret');
    expect(make('http://user:pw@10.0.0.6:8000', { apiKey: 'own' }).apiKey).toBe('own');
    expect(() => parseBackendUrl('http://user:pw@exa mple')).toThrow(/\*\*\*@/);
    expect(() => parseBackendUrl('http://user:pw@exa mple')).not.toThrow(/pw/);
  });

  it('spec name, weight and maxConcurrent', () => {
    const b = make('http://10.0.0.5:8000', { name: 'gpu-a', weight: 2, maxConcurrent: 16 });
    expect([b.name, b.weight, b.maxConcurrent]).toEqual(['gpu-a', 2, 16]);
  });
});

describe('Backend load and in-flight', () => {
  it('load uses the last reading with the in-flight correction, and our count alone once it is stale', () => {
    let now = 10_000;
    const b = make('http://10.0.0.5:8000', { maxConcurrent: 10 }, { BACKEND_METRICS_INTERVAL_MS: '100' }, () => now);
    b.take();
    b.take();
    expect(b.load()).toBe(0.2);
    b.recordReading({ running: 5, waiting: 1, kvCacheUsage: 0.3, at: now, inFlightAtScrape: 2 });
    expect(b.load()).toBe(0.6);
    b.take();
    expect(b.load()).toBe(0.7);
    b.put();
    b.put();
    expect(b.load()).toBe(0.5);
    now += 301;
    expect(b.load()).toBe(0.1);
    b.put();
    expect(b.inFlight).toBe(0);
    // An extra put never drives the count below zero.
    b.put();
    expect(b.inFlight).toBe(0);
  });

  it('is not usable before readiness says ready; take/put count exactly', () => {
    const b = make('http://10.0.0.5:8000');
    expect(b.state).toBe('starting');
    expect(b.usable).toBe(false);
    expect(b.hasFreeSlot).toBe(false);
    expect(b.vllm).toBeUndefined();
  });

  it('stop() waits for the in-flight requests before closing the pool', async () => {
    const b = make('http://10.0.0.5:8000');
    b.take();
    const stopped = b.stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(b.pool.closed).toBe(false);
    b.put();
    await stopped;
    expect(b.pool.closed).toBe(true);
  });
});

describe('backend metrics', () => {
  it('exports up, in-flight and load per backend name, read at scrape time, with bounded labels', async () => {
    const registry = new Registry();
    const list: Backend[] = [make('http://10.0.0.5:8000', { name: 'gpu-a', maxConcurrent: 4 }), make('http://user:pw@10.0.0.6:8000')];
    registerBackendMetrics(registry, { all: () => list });
    list[0]!.take();
    const text = await registry.metrics();
    expect(text).toMatch(/gateway_backend_up\{backend="gpu-a"\} 0/);
    expect(text).toMatch(/gateway_backend_in_flight\{backend="gpu-a"\} 1/);
    expect(text).toMatch(/gateway_backend_load\{backend="gpu-a"\} 0.25/);
    expect(text).toMatch(/gateway_backend_in_flight\{backend="10.0.0.6:8000"\} 0/);
    expect(text).not.toMatch(/pw@/);
    list[0]!.put();

    const many = Array.from({ length: MAX_BACKEND_LABELS + 20 }, (_, i) => ({ name: `b${i}`, usable: true, inFlight: 1, load: () => 0.5 }) as unknown as Backend);
    const r2 = new Registry();
    registerBackendMetrics(r2, { all: () => many });
    const t2 = await r2.metrics();
    const series = t2.split('\n').filter((l) => l.startsWith('gateway_backend_in_flight{'));
    expect(series).toHaveLength(MAX_BACKEND_LABELS);
    expect(t2).toMatch(/gateway_backend_in_flight\{backend="other"\} 21/);
    expect(t2).toMatch(/gateway_backend_up\{backend="other"\} 21/);
  });
});
