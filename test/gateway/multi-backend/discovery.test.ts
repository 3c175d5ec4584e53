/**
 * Issue 10, DNS discovery (VLLM_DISCOVERY=dns, the resolver injected through startGateway's `resolve`):
 * backends are added and removed as the answer changes; a removed one takes no new requests while its
 * in-flight requests finish (a stream in flight on it completes with [DONE]).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../vllm/sim/index.js';
import { probeFreePort } from '../../../vllm/sim/probe-port.js';
import { M7B, chatBody, hits, landedOn, startFarm, streamChat, waitFor, type Farm } from './support.js';

let farm: Farm | undefined;
const extra: Simulator[] = [];
afterEach(async () => {
  await farm?.close();
  farm = undefined;
  await Promise.all(extra.splice(0).map((s) => s.close()));
});

describe('VLLM_DISCOVERY=dns', () => {
  it('adds and removes backends as the answer changes; a removed one finishes its stream and takes nothing new', async () => {
    const port = probeFreePort('127.0.0.2');
    const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const sims = addresses.map((host) => startSimulator({ host, port, ttftMs: 2, itlMs: 1 }));
    extra.push(...sims);
    await Promise.all(sims.map((s) => s.ready));
    let answer = ['127.0.0.2'];
    let failing = false;
    const lookups: string[] = [];
    farm = await startFarm({
      sims: [],
      vllmUrl: () => `http://vllm.test:${port}`,
      env: { VLLM_DISCOVERY: 'dns', VLLM_DISCOVERY_INTERVAL_MS: '100' },
      resolve: async (host) => {
        lookups.push(host);
        if (failing) throw new Error('SERVFAIL');
        return [...answer];
      },
    });
    const f = farm;
    expect(lookups[0]).toBe('vllm.test');
    const names = async () => (await f.status()).backends.map((b) => `${b.name} ${b.state}`);
    expect(await names()).toEqual([`vllm.test/127.0.0.2:${port} ready`]);

    answer = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    await waitFor(async () => (await names()).filter((n) => n.endsWith(' ready')).length === 3, 5_000, 'three ready backends');
    const client = f.client();
    await Promise.all(Array.from({ length: 24 }, (_, i) => client.chat.completions.create({ model: M7B, messages: [{ role: 'user', content: `spread ${i}` }], max_tokens: 2 })));
    for (const s of sims) expect(hits(s)).toBeGreaterThan(0);

    // A failed lookup keeps the last addresses.
    failing = true;
    const n = lookups.length;
    await waitFor(() => lookups.length >= n + 3, 3_000, 'lookups while failing');
    expect((await names()).filter((x) => x.endsWith(' ready'))).toHaveLength(3);
    failing = false;

    // A long stream on some backend; then that address leaves the answer.
    const stream = streamChat(f.url, chatBody(M7B, '<draining> [[sim:itl=40]]', { max_tokens: 30 }));
    await waitFor(() => landedOn(sims, '<draining>').length === 1, 2_000, 'stream started');
    const idx = landedOn(sims, '<draining>')[0]!;
    const gone = sims[idx]!;
    answer = addresses.filter((a) => a !== addresses[idx]);
    await waitFor(async () => (await names()).includes(`vllm.test/${addresses[idx]}:${port} draining`), 3_000, 'removed backend draining');
    const before = hits(gone);
    await Promise.all(Array.from({ length: 12 }, (_, i) => client.chat.completions.create({ model: M7B, messages: [{ role: 'user', content: `after ${i}` }], max_tokens: 2 })));
    expect(hits(gone)).toBe(before);
    const s = await stream;
    expect(s.status).toBe(200);
    expect(s.done).toBe(true);
    expect(s.errorEvent).toBe(false);
    await waitFor(async () => (await names()).length === 2, 3_000, 'drained backend gone from the list');
    expect((await names()).every((x) => x.endsWith(' ready'))).toBe(true);
  });
});
