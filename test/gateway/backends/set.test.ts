import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../../gateway/backends/backend.js';
import { BackendSet, MAX_BACKENDS } from '../../../gateway/backends/set.js';
import { parseConfig, type Env } from '../../../gateway/config.js';
import { startSimulator, type Simulator } from '../../../vllm/sim/index.js';

const configOf = (env: Env = {}) => parseConfig({ ALLOW_ANONYMOUS: 'true', BACKEND_METRICS_INTERVAL_MS: '50', ...env });
const fastProbes = { pollMs: 40, readyPollMs: 200, probeTimeoutMs: 1_000 };

const sims: Simulator[] = [];
const sets: BackendSet[] = [];
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.stop()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

function sim(host: string, servedModelNames: string[], extra: Parameters<typeof startSimulator>[0] = {}): Simulator {
  const s = startSimulator({ host, servedModelNames, ttftMs: 1, itlMs: 0, ...extra });
  sims.push(s);
  return s;
}

function makeSet(env: Env = {}): BackendSet {
  const set = new BackendSet({ config: configOf(env), readiness: fastProbes });
  sets.push(set);
  return set;
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('BackendSet with simulators on 127.0.0.2 and 127.0.0.3', () => {
  it('waitUsable resolves as soon as a loading backend comes up (it refuses connections first)', async () => {
    const a = sim('127.0.0.2', ['m-a'], { loadMs: 400 });
    const set = makeSet();
    set.update([{ url: a.url }]);
    set.start();
    expect(set.anyStarting('m-a')).toBe(true);
    expect(set.anyStarting('anything')).toBe(true);
    expect(set.usableFor('m-a')).toEqual([]);
    const t0 = Date.now();
    const ok = await set.waitUsable('m-a', 10_000);
    expect(ok).toBe(true);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(set.usableFor('m-a').map((b) => b.id)).toEqual([a.url]);
    expect(set.anyStarting('m-a')).toBe(false);
    // Known models now: a model it does not serve is not "starting".
    expect(set.anyStarting('other')).toBe(false);
  });

  it('waitUsable: false on timeout and on abort, and the waiter is gone', async () => {
    const set = makeSet();
    set.update([{ url: 'http://127.0.0.2:1' }]);
    expect(await set.waitUsable('m', 50)).toBe(false);
    const ac = new AbortController();
    const p = set.waitUsable('m', 10_000, ac.signal);
    ac.abort();
    expect(await p).toBe(false);
  });

  it('models: the union of the ready backends, first backend first, deduplicated; defaultModel follows VLLM_URL order', async () => {
    const a = sim('127.0.0.2', ['m-a', 'shared'], { loadMs: 600 });
    const b = sim('127.0.0.3', ['m-b', 'shared']);
    const set = makeSet();
    set.update([{ url: a.url }, { url: b.url }]);
    set.start();
    await set.waitUsable('m-b', 5_000);
    // a is still loading: no default yet (never silently b's model), though b's models are listed.
    expect(set.defaultModel()).toBeUndefined();
    expect(set.models().map((m) => m.id)).toEqual(['m-b', 'shared']);
    expect(set.anyReady).toBe(true);
    await set.waitUsable('m-a', 5_000);
    expect(set.defaultModel()?.id).toBe('m-a');
    expect(set.models().map((m) => m.id)).toEqual(['m-a', 'shared', 'm-b']);
    expect(set.usableFor('shared')).toHaveLength(2);
    expect(set.withFreeSlot('m-b').map((x) => x.id)).toEqual([b.url]);
  });

  it('onSlotFree fires on put; withFreeSlot respects maxConcurrent per backend', async () => {
    const a = sim('127.0.0.2', ['m']);
    const set = makeSet();
    set.update([{ url: a.url, maxConcurrent: 2 }]);
    set.start();
    await set.waitUsable('m', 5_000);
    const [b] = set.withFreeSlot('m') as [Backend];
    const freed: string[] = [];
    const off = set.onSlotFree((x) => freed.push(x.id));
    b.take();
    b.take();
    expect(b.inFlight).toBe(2);
    expect(set.withFreeSlot('m')).toEqual([]);
    expect(set.usableFor('m')).toEqual([b]);
    b.put();
    expect(freed).toEqual([a.url]);
    expect(set.withFreeSlot('m')).toEqual([b]);
    off();
    b.put();
    expect(freed).toHaveLength(1);
    expect(b.inFlight).toBe(0);
  });

  it('update keeps backends by id, changes weight and concurrency in place, and drains removed ones', async () => {
    const a = sim('127.0.0.2', ['m']);
    const b = sim('127.0.0.3', ['m']);
    const set = makeSet();
    const changes: Array<string | undefined> = [];
    set.onChange((x) => changes.push(x?.state));
    set.update([{ url: a.url }, { url: b.url }]);
    set.start();
    await until(() => set.usableFor('m').length === 2);
    const [ba, bb] = set.all() as [Backend, Backend];
    set.update([{ url: `${a.url}/`, weight: 3, maxConcurrent: 5 }, { url: b.url }]);
    expect(set.all()[0]).toBe(ba);
    expect(ba.weight).toBe(3);
    expect(ba.maxConcurrent).toBe(5);

    bb.take();
    set.update([{ url: a.url }]);
    expect(bb.state).toBe('draining');
    expect(bb.usable).toBe(false);
    expect(set.usableFor('m')).toEqual([ba]);
    expect(set.all()).toEqual([ba, bb]);
    expect(set.isLastUsable(ba, 'm')).toBe(true);
    // The in-flight request finishes on the draining backend's own pool.
    const res = await bb.pool.request({ path: '/v1/models', method: 'GET' });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(bb.pool.closed).toBe(false);
    bb.put();
    await until(() => set.all().length === 1);
    expect(bb.pool.closed).toBe(true);
    expect(changes).toContain('draining');
  });

  it('isLastUsable protects the only backend of a model from ejection; another backend can be ejected', async () => {
    const a = sim('127.0.0.2', ['m', 'only-a']);
    const b = sim('127.0.0.3', ['m']);
    const set = makeSet({ BACKEND_EJECT_FAILURES: '2' });
    set.update([{ url: a.url }, { url: b.url }]);
    set.start();
    await until(() => set.usableFor('m').length === 2);
    const [ba, bb] = set.all() as [Backend, Backend];
    for (let i = 0; i < 5; i++) ba.reportFailure('http_5xx', 'HTTP 500', set.isLastUsable(ba, 'only-a'));
    expect(ba.state).toBe('ready');
    bb.reportFailure('reset', 'socket hang up', set.isLastUsable(bb, 'm'));
    bb.reportFailure('reset', 'socket hang up', set.isLastUsable(bb, 'm'));
    expect(bb.state).toBe('ejected');
    expect(set.usableFor('m')).toEqual([ba]);
    // Now a is the last usable backend of m too.
    for (let i = 0; i < 5; i++) ba.reportFailure('http_5xx', 'HTTP 500', set.isLastUsable(ba, 'm'));
    expect(ba.usable).toBe(true);
  });

  it('an ejected backend is back after its backoff through one half-open probe (change event wakes waiters)', async () => {
    const a = sim('127.0.0.2', ['m']);
    const b = sim('127.0.0.3', ['m']);
    const set = makeSet({ BACKEND_EJECT_FAILURES: '1', BACKEND_EJECT_BASE_MS: '100' });
    set.update([{ url: a.url }, { url: b.url }]);
    set.start();
    await until(() => set.usableFor('m').length === 2);
    const [, bb] = set.all() as [Backend, Backend];
    bb.reportFailure('connect_timeout', 'connect timeout', false);
    expect(bb.state).toBe('ejected');
    expect(bb.hasFreeSlot).toBe(false);
    let woke = false;
    const off = set.onChange((x) => {
      if (x === bb && bb.hasFreeSlot) woke = true;
    });
    await until(() => woke, 3_000);
    off();
    bb.take();
    expect(bb.hasFreeSlot).toBe(false);
    bb.reportSuccess();
    bb.put();
    expect(bb.breaker.state).toBe('closed');
    expect(bb.hasFreeSlot).toBe(true);
  });

  it('a backend that was ready and then fails its /health probes is down; once its port refuses, it is starting', async () => {
    const a = sim('127.0.0.2', ['m'], { deathExitMs: 3_000 });
    const set = makeSet({ BACKEND_EJECT_FAILURES: '3' });
    set.update([{ url: a.url }]);
    set.start();
    await set.waitUsable('m', 5_000);
    const [b] = set.all() as [Backend];
    a.killEngine();
    void b.readiness.probeNow();
    await until(() => b.state === 'down', 5_000);
    expect(set.anyStarting('m')).toBe(false);
    expect(set.usableFor('m')).toEqual([]);
    await until(() => b.state === 'starting', 8_000);
    expect(set.anyStarting('m')).toBe(true);
  });

  it('scrapes /metrics and folds it into load()', async () => {
    const a = sim('127.0.0.2', ['m'], { ttftMs: 2_000 });
    const set = makeSet();
    set.update([{ url: a.url, maxConcurrent: 4 }]);
    set.start();
    await set.waitUsable('m', 5_000);
    const [b] = set.all() as [Backend];
    await until(() => b.vllm !== undefined, 3_000);
    expect(b.vllm).toMatchObject({ running: 0, waiting: 0 });
    expect(b.load()).toBe(0);
    // A request that is not ours: vLLM reports it, our in-flight count does not have it.
    const req = fetch(`${a.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', prompt: 'hi', max_tokens: 2 }) }).catch(() => undefined);
    await until(() => (b.vllm?.running ?? 0) + (b.vllm?.waiting ?? 0) === 1, 3_000);
    expect(b.inFlight).toBe(0);
    expect(b.load()).toBe(1 / 4);
    await a.close();
    await req;
  });

  it('is bounded: at most MAX_BACKENDS backends, the rest are logged and ignored', () => {
    const warned: string[] = [];
    const set = new BackendSet({ config: configOf(), logger: { info: () => undefined, warn: (_o: object, msg: string) => warned.push(msg) } as never });
    sets.push(set);
    set.update(Array.from({ length: MAX_BACKENDS + 10 }, (_, i) => ({ url: `http://10.1.${i >> 8}.${i & 255}:8000` })));
    expect(set.all()).toHaveLength(MAX_BACKENDS);
    expect(warned.join()).toMatch(/too many backends/);
  });
});
