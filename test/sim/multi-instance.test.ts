/**
 * Several simulators on one machine, as multi-backend routing tests need them: each on its own loopback
 * address (127.0.0.2, 127.0.0.3: all of 127.0.0.0/8 is loopback on Linux) serving its own model names, in
 * process and as CLI processes whose SIM_* variables script one of them to be slow, and --max-num-seqs
 * bounding each one's concurrency.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { probeFreePort } from '../../vllm/sim/probe-port.js';
import { startSimulator, type Simulator } from '../../vllm/sim/index.js';
import { chat, metricValue, postJson, runCli, sleep, type CliRun } from './support.js';

const started: Simulator[] = [];
const processes: CliRun[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
  for (const p of processes.splice(0)) p.child.kill('SIGKILL');
});

async function sim(host: string, names: string[], extra: Record<string, unknown> = {}): Promise<Simulator> {
  const s = startSimulator({ host, servedModelNames: names, ttftMs: 2, itlMs: 1, ...extra });
  started.push(s);
  await s.ready;
  return s;
}

async function streamMs(url: string, model: string, maxTokens: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'time me' }], stream: true, max_tokens: maxTokens }),
  });
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('data: [DONE]');
  return performance.now() - t0;
}

describe('in process', () => {
  it('serves a 7B and a 0.5B tier on 127.0.0.2 and 127.0.0.3, each with its own name and metrics label', async () => {
    const big = await sim('127.0.0.2', ['qwen2.5-7b-instruct']);
    const small = await sim('127.0.0.3', ['qwen2.5-0.5b-instruct', 'small']);
    expect(big.url).toBe(`http://127.0.0.2:${big.port}`);
    expect(small.url).toBe(`http://127.0.0.3:${small.port}`);

    const models = (await (await fetch(`${small.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(['qwen2.5-0.5b-instruct', 'small']);
    // The alias is accepted; the answer carries the first served name (vllm.md 8).
    const answer = await postJson<{ model: string }>(small, '/v1/chat/completions', chat('hi', { model: 'small' }));
    expect(answer).toMatchObject({ status: 200, json: { model: 'qwen2.5-0.5b-instruct' } });
    // Each instance knows only its own models.
    expect((await postJson(big, '/v1/chat/completions', chat('hi', { model: 'small' }))).status).toBe(404);

    const text = await (await fetch(`${small.url}/metrics`)).text();
    expect(metricValue(text, 'vllm:num_requests_running{model_name="qwen2.5-0.5b-instruct",engine="0"}')).toBe(0);
    expect(big.requests).toHaveLength(1);
    expect(small.requests).toHaveLength(1);
  });

  it('two instances may share a port number on different loopback addresses', async () => {
    const port = probeFreePort('127.0.0.2');
    const a = await sim('127.0.0.2', ['a'], { port });
    const b = await sim('127.0.0.3', ['b'], { port });
    expect((await postJson<{ model: string }>(a, '/v1/completions', { prompt: 'x', max_tokens: 2 })).json.model).toBe('a');
    expect((await postJson<{ model: string }>(b, '/v1/completions', { prompt: 'x', max_tokens: 2 })).json.model).toBe('b');
  });
});

describe('as CLI processes', () => {
  it('--host 127.0.0.x, --served-model-name, SIM_ITL_MS per process: one instance is the slow one', async () => {
    const fastPort = probeFreePort('127.0.0.2');
    const slowPort = probeFreePort('127.0.0.3');
    const fast = runCli(['serve', 'Qwen/Qwen2.5-7B-Instruct', '--host', '127.0.0.2', '--port', String(fastPort), '--served-model-name', 'fast'], { SIM_TTFT_MS: '0', SIM_ITL_MS: '1' });
    const slow = runCli(['serve', 'Qwen/Qwen2.5-0.5B-Instruct', '--host', '127.0.0.3', '--port', String(slowPort), '--served-model-name', 'slow'], { SIM_TTFT_MS: '0', SIM_ITL_MS: '40' });
    processes.push(fast, slow);
    await Promise.all([fast.waitFor(/Starting vLLM API server 0 on http:\/\/127\.0\.0\.2:\d+/, 15_000), slow.waitFor(/Starting vLLM API server 0 on http:\/\/127\.0\.0\.3:\d+/, 15_000)]);

    const fastMs = await streamMs(`http://127.0.0.2:${fastPort}`, 'fast', 10);
    const slowMs = await streamMs(`http://127.0.0.3:${slowPort}`, 'slow', 10);
    // 9 inter-token gaps: about 360 ms against about 9 ms; tolerant of a busy machine.
    expect(slowMs).toBeGreaterThan(300);
    expect(slowMs).toBeGreaterThan(fastMs + 200);
  });

  it('--max-num-seqs bounds one instance: the rest wait FIFO and show as waiting', async () => {
    const port = probeFreePort('127.0.0.2');
    const cli = runCli(['serve', 'm', '--host', '127.0.0.2', '--port', String(port), '--served-model-name', 'm', '--max-num-seqs', '2'], { SIM_ITL_MS: '30', SIM_TTFT_MS: '0' });
    processes.push(cli);
    await cli.waitFor(/Starting vLLM API server 0/, 15_000);
    const url = `http://127.0.0.2:${port}`;
    const all = Array.from({ length: 5 }, (_, i) =>
      fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat(`p${i}`, { max_tokens: 20 })) }),
    );
    await sleep(150);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(text, 'vllm:num_requests_running{model_name="m",engine="0"}')).toBe(2);
    expect(metricValue(text, 'vllm:num_requests_waiting{model_name="m",engine="0"}')).toBe(3);
    expect((await Promise.all(all)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  });
});
