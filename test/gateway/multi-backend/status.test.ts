/**
 * Issue 10, observability: /system/status lists every backend (URL without userinfo, state, models,
 * in_flight, vLLM's running/waiting/KV, last_error); gateway_backend_up{backend},
 * gateway_upstream_errors_total{kind,backend}, TTFT with a backend label; a URL's userinfo secret
 * appears nowhere (status, metrics, logs).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../vllm/sim/index.js';
import { probeFreePort } from '../../../vllm/sim/probe-port.js';
import { M05B, M7B, chatBody, metricSum, post, startFarm, streamChat, waitFor, type Farm } from './support.js';

let farm: Farm | undefined;
const extra: Simulator[] = [];
afterEach(async () => {
  await farm?.close();
  farm = undefined;
  await Promise.all(extra.splice(0).map((s) => s.close()));
});

describe('/system/status and metrics with several backends', () => {
  it('lists every backend with its URL (no userinfo), state, models, in_flight, vLLM load and last_error', async () => {
    const port = probeFreePort('127.0.0.2');
    // This vLLM requires the key that the URL's userinfo carries (vllm.md 6).
    const locked = startSimulator({ host: '127.0.0.2', port, apiKeys: ['secret'], ttftMs: 2, itlMs: 1 });
    extra.push(locked);
    await locked.ready;
    farm = await startFarm({
      sims: [{ servedModelNames: [M05B], maxNumSeqs: 4 }],
      vllmUrl: (sims) => `http://user:secret@127.0.0.2:${port},${sims[0]!.url}`,
      env: { BACKEND_EJECT_FAILURES: '100' },
    });
    const f = farm;
    const small = f.sims[0]!;
    const lockedName = `127.0.0.2:${port}`;
    const smallName = new URL(small.url).host;

    // The userinfo key reaches the locked vLLM.
    const ok = await post(f.url, chatBody(M7B, 'through the key'));
    expect(ok.status).toBe(200);
    await ok.text();

    // A stream held on the 0.5B backend, an error on the 7B one.
    const held = streamChat(f.url, chatBody(M05B, 'held [[sim:itl=40]]', { max_tokens: 30 }));
    await waitFor(() => small.running() === 1, 2_000, 'stream running');
    await (await post(f.url, chatBody(M7B, 'boom [[sim:http=500]]'))).text();
    await waitFor(async () => (await f.status()).backends[1]?.vllm?.running === 1, 3_000, 'vLLM reading of the held stream');

    const st = await f.status();
    expect(st.upstream.backends_total).toBe(2);
    expect(st.upstream.backends_ready).toBe(2);
    expect(st.upstream.model).toBe(M7B);
    const [a, b] = st.backends as [NonNullable<(typeof st.backends)[0]>, NonNullable<(typeof st.backends)[0]>];
    expect(a).toMatchObject({ name: lockedName, url: `http://127.0.0.2:${port}`, state: 'ready', models: [M7B], in_flight: 0 });
    expect(a.last_error?.kind).toBe('http_5xx');
    expect(b).toMatchObject({ name: smallName, url: small.url, state: 'ready', models: [M05B], in_flight: 1, last_error: null });
    expect(b.vllm).toMatchObject({ running: 1, waiting: 0 });
    expect(b.vllm!.kv_cache_usage).toBeGreaterThan(0);
    expect(b.load).toBeGreaterThan(0);

    const m = await f.metrics();
    expect(metricSum(m, 'gateway_backend_up', `backend="${lockedName}"`)).toBe(1);
    expect(metricSum(m, 'gateway_backend_up', `backend="${smallName}"`)).toBe(1);
    expect(metricSum(m, 'gateway_backend_in_flight', `backend="${smallName}"`)).toBe(1);
    expect(metricSum(m, 'gateway_upstream_errors_total', 'kind="http_5xx"', `backend="${lockedName}"`)).toBe(1);

    expect((await held).done).toBe(true);
    const after = await f.metrics();
    expect(metricSum(after, 'gen_ai_server_time_to_first_token_seconds_count', `backend="${smallName}"`)).toBe(1);

    // The secret appears nowhere.
    expect(JSON.stringify(st)).not.toContain('secret');
    expect(JSON.stringify(await f.status())).not.toContain('secret');
    expect(after).not.toContain('secret');
    await f.close();
    farm = undefined;
    expect(f.rawLogs()).toContain(lockedName);
    expect(f.rawLogs()).not.toContain('secret');
  });

  it('gateway_backend_up goes to 0 for a backend that died, and stays 1 for the others', async () => {
    farm = await startFarm({ sims: [{ deathExitMs: 60_000 }, {}], env: { BACKEND_EJECT_FAILURES: '2' } });
    const f = farm;
    const [dead, live] = f.sims.map((s) => new URL(s.url).host) as [string, string];
    f.sims[0]!.killEngine();
    await waitFor(async () => metricSum(await f.metrics(), 'gateway_backend_up', `backend="${dead}"`) === 0, 10_000, 'backend_up 0');
    expect(metricSum(await f.metrics(), 'gateway_backend_up', `backend="${live}"`)).toBe(1);
    await waitFor(async () => (await f.status()).backends[0]!.state === 'down', 10_000, 'state down');
    expect((await f.status()).upstream.backends_ready).toBe(1);
  });
});
