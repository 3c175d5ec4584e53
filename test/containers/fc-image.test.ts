/**
 * The Function Compute image (Dockerfile.vllm) in a real container, built on the test stand-in for
 * vllm/vllm-openai (deploy/test/Dockerfile.vllm-sim: our simulator installed as the `vllm` binary). What
 * runs is the production wiring: deploy/supervisor.sh as PID 1, the gateway on PORT, vllm/launch.sh
 * starting the engine on 127.0.0.1, the weights baked at build time, FC's probes and hooks, and signals.
 */
import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATHS } from '../../gateway/routes/paths.js';
import { runSmoke } from '../../scripts/smoke.js';
import { dockerOrSkip, freePort, healthcheckCommand, imageUser, IMAGES, removeAll, startContainer, type Running } from './harness.js';

const ready = await dockerOrSkip('FC image', [IMAGES.fc]);

const CLIENT_KEY = 'sk-fc-container-test';
const BAKED_MODEL = '/opt/models/Qwen2.5-7B-Instruct-GPTQ-Int4';

interface Ports {
  gateway: number;
  engine: number;
  base: string;
}

async function ports(): Promise<Ports> {
  const gateway = await freePort();
  const engine = await freePort();
  return { gateway, engine, base: `http://127.0.0.1:${gateway}` };
}

/** What s.yaml sets, with test ports and a short simulated model load. */
function fcEnv(p: Ports, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: String(p.gateway),
    ENGINE_PORT: String(p.engine),
    VLLM_URL: `http://127.0.0.1:${p.engine}`,
    API_KEYS: `test:${CLIENT_KEY}`,
    SHUTDOWN_GRACE_MS: '10000',
    INITIALIZE_TIMEOUT_MS: '20000',
    // Long enough that the gateway is surely up while the engine still "loads", even on a busy CI machine.
    SIM_LOAD_MS: '4000',
    SIM_TTFT_MS: '20',
    SIM_ITL_MS: '5',
    ...extra,
  };
}

/** True when something accepts a TCP connection on host:port within 1 s. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe.skipIf(!ready)('FC image (supervisor, gateway and a stand-in vLLM in one container)', () => {
  afterAll(async () => {
    await removeAll();
  });

  describe('starting up and serving', () => {
    let fc: Running;
    let p: Ports;
    let healthWhileLoading: Response;
    let initialize: Response;
    let initializeMs: number;

    beforeAll(async () => {
      p = await ports();
      fc = await startContainer(IMAGES.fc, { env: fcEnv(p) });
      // FC's order (fc3.md 3.1): port open -> POST /initialize -> health checks -> traffic.
      healthWhileLoading = await fetch(`${p.base}${PATHS.health}`);
      const started = Date.now();
      initialize = await fetch(`${p.base}${PATHS.initialize}`, { method: 'POST' });
      initializeMs = Date.now() - started;
    }, 40_000);
    afterAll(async () => {
      await fc?.stop(5_000);
      await fc?.remove();
    });

    it('answers on the gateway port at once, with /health 503 while the model loads', async () => {
      expect(healthWhileLoading.status).toBe(503);
      expect(await healthWhileLoading.json()).toMatchObject({ status: 'starting' });
      expect((await fetch(`${p.base}${PATHS.livez}`)).status).toBe(200);
    });

    it('holds POST /initialize until vLLM is ready, then /health is 200', async () => {
      expect(initialize.status).toBe(200);
      expect(await initialize.json()).toMatchObject({ status: 'ready', model: 'qwen2.5-7b-instruct' });
      expect(initializeMs).toBeGreaterThan(1_000);
      expect((await fetch(`${p.base}${PATHS.health}`)).status).toBe(200);
    });

    it('runs vLLM on 127.0.0.1 only, behind a generated API key, serving the baked weights', async () => {
      expect(await accepts('127.0.0.1', p.engine)).toBe(true);
      const external = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && i.family === 'IPv4' && !i.internal);
      if (external) expect(await accepts(external.address, p.engine)).toBe(false);
      // The supervisor generated a key: the engine refuses a caller without it (vllm.md 6).
      expect((await fetch(`http://127.0.0.1:${p.engine}/v1/models`)).status).toBe(401);
      const models = (await (await fetch(`${p.base}/v1/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).json()) as { data: Array<{ id: string; root: string }> };
      expect(models.data[0]).toMatchObject({ id: 'qwen2.5-7b-instruct', root: BAKED_MODEL });
      const config = await fc.container.exec(['cat', `${BAKED_MODEL}/config.json`]);
      expect(config.output).toMatch(/"_revision":"[0-9a-f]{40}"/);
    });

    it('runs as uid 2000 in group 0 and passes its HEALTHCHECK command', async () => {
      expect(await imageUser(IMAGES.fc)).toBe('2000:0');
      expect((await fc.container.exec(['id', '-u'])).output.trim()).toBe('2000');
      expect((await fc.container.exec(await healthcheckCommand(IMAGES.fc))).exitCode).toBe(0);
    });

    it('passes the smoke check through the gateway, streaming and not', async () => {
      const result = await runSmoke({ url: p.base, apiKey: CLIENT_KEY, model: 'qwen2.5-7b-instruct', prompt: 'Hello?', expect: undefined, timeoutMs: 10_000 });
      expect(result.lines.join('\n')).toMatch(/smoke: PASS/);
    });

    it('fails the smoke check on all-"!" answers', async () => {
      const result = await runSmoke({ url: p.base, apiKey: CLIENT_KEY, model: 'qwen2.5-7b-instruct', prompt: 'Hello? [[sim:degenerate]]', expect: undefined, timeoutMs: 10_000 });
      expect(result.ok).toBe(false);
    });
  });

  it('on SIGTERM drains the gateway first, then stops vLLM, and exits 0', async () => {
    const p = await ports();
    const fc = await startContainer(IMAGES.fc, { env: fcEnv(p, { SIM_LOAD_MS: '0' }) });
    try {
      expect((await fetch(`${p.base}${PATHS.initialize}`, { method: 'POST' })).status).toBe(200);
      const client = new OpenAI({ baseURL: `${p.base}/v1`, apiKey: CLIENT_KEY, maxRetries: 0, timeout: 15_000 });
      const stream = await client.chat.completions.create({
        model: 'qwen2.5-7b-instruct',
        messages: [{ role: 'user', content: 'Take your time. [[sim:itl=100]]' }],
        max_tokens: 15,
        stream: true,
      });
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      const stopping = fc.stop(30_000);
      let finish: string | null | undefined;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) finish = next.value.choices[0]?.finish_reason ?? finish;
      expect(finish).toBe('length');
      expect(await stopping).toBe(0);
      const logs = fc.logs();
      const gatewayStop = logs.indexOf('stopping gateway');
      const gatewayExit = logs.indexOf('gateway exited with status 0');
      const engineStop = logs.indexOf('stopping vllm');
      expect(gatewayStop).toBeGreaterThan(-1);
      expect(gatewayExit).toBeGreaterThan(gatewayStop);
      expect(engineStop).toBeGreaterThan(gatewayExit);
      expect(logs).toMatch(/vllm exited with status 0/);
    } finally {
      await fc.remove();
    }
  }, 40_000);

  it('exits non-zero when the model server dies', async () => {
    const p = await ports();
    const fc = await startContainer(IMAGES.fc, { env: fcEnv(p, { SIM_LOAD_MS: '0', SIM_ENGINE_DEATH_AFTER_MS: '1000' }) });
    try {
      expect(await fc.exitCode(20_000)).toBe(1);
      expect(fc.logs()).toMatch(/vllm exited unexpectedly with status 1/);
      expect(fc.logs()).toMatch(/gateway exited with status 0/);
    } finally {
      await fc.remove();
    }
  }, 30_000);

  it('exits non-zero when launch.sh refuses its configuration', async () => {
    const p = await ports();
    const fc = await startContainer(IMAGES.fc, { env: fcEnv(p, { MODEL_PATH: '/mnt/nas/missing-model' }), readyLog: null });
    try {
      expect(await fc.exitCode(15_000)).toBe(2);
      expect(fc.logs()).toMatch(/MODEL_PATH=\/mnt\/nas\/missing-model has no config\.json/);
    } finally {
      await fc.remove();
    }
  }, 30_000);
});
