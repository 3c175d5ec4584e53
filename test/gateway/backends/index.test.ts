import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackends, type Backends } from '../../../gateway/backends/index.js';
import { parseConfig, type Env } from '../../../gateway/config.js';
import { startSimulator, type Simulator } from '../../../vllm/sim/index.js';

const fastProbes = { pollMs: 40, readyPollMs: 200, probeTimeoutMs: 1_000 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(env: Env, urls?: string[]): Promise<Backends> {
  const registry = new Registry();
  const backends = await startBackends({ config: parseConfig({ ALLOW_ANONYMOUS: 'true', ...env }), registry, urls, readiness: fastProbes });
  cleanups.push(() => backends.stop());
  return backends;
}

function sim(host: string, names: string[]): Simulator {
  const s = startSimulator({ host, servedModelNames: names, ttftMs: 1, itlMs: 0 });
  cleanups.push(() => s.close());
  return s;
}

describe('startBackends: discovery → set → picker', () => {
  it('picks a backend serving the model, keeps a session on one, honours exclude (failover)', async () => {
    const a = sim('127.0.0.2', ['m']);
    const b = sim('127.0.0.3', ['m']);
    const backends = await start({}, [a.url, b.url]);
    expect(await backends.set.waitUsable('m', 5_000)).toBe(true);
    await new Promise<void>((resolve) => {
      const check = (): void => (backends.set.usableFor('m').length === 2 ? resolve() : void setTimeout(check, 20));
      check();
    });
    // What admission and the pipeline's `choose` do: the set's candidates with a free slot, minus the ones
    // a failover already tried, then the picker.
    const pick = (model: string, sessionKey: string, exclude: ReadonlySet<unknown> = new Set()) =>
      backends.picker.pick(
        backends.set.withFreeSlot(model).filter((b) => !exclude.has(b)),
        { strategy: 'least-loaded', affinity: true, affinityBound: 1.25, sessionKey },
      );
    expect(pick('nope', 'session-1')).toBeUndefined();
    const first = pick('m', 'session-1');
    expect(first).toBeDefined();
    for (let i = 0; i < 10; i++) expect(pick('m', 'session-1')).toBe(first);
    const other = pick('m', 'session-1', new Set([first!]));
    expect(other).toBeDefined();
    expect(other).not.toBe(first);
  });

  it('refuses to start on a bad backends file', async () => {
    await expect(start({ VLLM_BACKENDS_FILE: '/nonexistent/backends.json' })).rejects.toThrow(/ENOENT/);
  });

  it('a backend answering 503 before it was ever ready (an ingress in front of a loading vLLM) is starting', async () => {
    const server: Server = createServer((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const backends = await start({}, [`http://127.0.0.2:${port}`]);
    const [b] = backends.set.all();
    await new Promise((r) => setTimeout(r, 300));
    expect(b!.readiness.state).toBe('unhealthy');
    expect(b!.state).toBe('starting');
    expect(backends.set.anyStarting('m')).toBe(true);
  });
});
