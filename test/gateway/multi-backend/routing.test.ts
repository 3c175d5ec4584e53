/**
 * Issue 10, routing: least loaded among the backends serving the model (power of two choices over
 * in-flight plus vLLM's running/waiting, per unit of concurrency), round-robin on request, models routed
 * to the backends that serve them, /v1/models as the union plus aliases, the default model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { M05B, M7B, chatBody, hits, post, startFarm, waitFor, type Farm } from './support.js';

let farm: Farm | undefined;
afterEach(async () => {
  await farm?.close();
  farm = undefined;
});

/** Long streams sent straight to a simulator (another client of that vLLM), held until aborted. */
function holdDirect(simUrl: string, n: number): AbortController {
  const ac = new AbortController();
  for (let i = 0; i < n; i++) {
    void fetch(`${simUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `hold ${i} [[sim:itl=200]]` }], max_tokens: 200, stream: true }),
      signal: ac.signal,
    })
      .then((r) => r.text())
      .catch(() => undefined);
  }
  return ac;
}

async function sequential(f: Farm, n: number, model = M7B): Promise<void> {
  const client = f.client();
  for (let i = 0; i < n; i++) {
    const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `seq ${i}` }], max_tokens: 2 });
    expect(r.choices[0]?.message.content).toBeTruthy();
  }
}

describe('least-loaded routing', () => {
  it("sends new requests away from a backend whose vLLM is busy with other clients' requests (running + waiting)", async () => {
    farm = await startFarm({ sims: [{ maxNumSeqs: 8 }, { maxNumSeqs: 8 }], env: { MAX_CONCURRENT_REQUESTS: '8' } });
    const [busy, idle] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    const hold = holdDirect(busy.url, 10); // 8 running + 2 waiting on an 8-seq vLLM: load 1.25
    try {
      await waitFor(() => busy.running() === 8 && busy.waiting() === 2, 3_000, 'busy sim full');
      const f = farm;
      await waitFor(async () => ((await f.status()).backends[0]?.load ?? 0) >= 1, 3_000, 'gateway sees the busy backend loaded');
      const before = hits(busy);
      await sequential(farm, 20);
      expect(hits(busy) - before).toBeLessThanOrEqual(2);
      expect(hits(idle)).toBeGreaterThanOrEqual(18);
    } finally {
      hold.abort();
    }
  });

  it('gives a slow backend (long ITL holding its slots) fewer requests than a fast one under concurrent load', async () => {
    farm = await startFarm({ sims: [{ itlMs: 25 }, { itlMs: 1 }], env: { MAX_CONCURRENT_REQUESTS: '8' } });
    const [slow, fast] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    const client = farm.client();
    const worker = async (w: number) => {
      for (let i = 0; i < 8; i++) {
        const stream = await client.chat.completions.create({ model: M7B, messages: [{ role: 'user', content: `w${w} r${i}` }], max_tokens: 12, stream: true });
        for await (const chunk of stream) void chunk;
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
    expect(hits(slow) + hits(fast)).toBe(48);
    // Round-robin would give 24/24; least loaded keeps the slow one's share well below half.
    expect(hits(fast)).toBeGreaterThanOrEqual(2 * hits(slow));
  });

  it('ROUTING=round-robin spreads evenly whatever the load', async () => {
    farm = await startFarm({ sims: [{ maxNumSeqs: 8 }, { maxNumSeqs: 8 }], env: { MAX_CONCURRENT_REQUESTS: '8', ROUTING: 'round-robin' } });
    const [busy, idle] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    const hold = holdDirect(busy.url, 6); // 6 of 8 seqs: the gateway's requests still run at once there
    try {
      await waitFor(() => busy.running() === 6, 3_000, 'busy sim loaded');
      const f = farm;
      await waitFor(async () => ((await f.status()).backends[0]?.vllm?.running ?? 0) === 6, 3_000, "gateway read the busy backend's /metrics");
      const before = hits(busy);
      await sequential(farm, 20);
      expect(hits(busy) - before).toBe(10);
      expect(hits(idle)).toBe(10);
    } finally {
      hold.abort();
    }
  });
});

describe('models route to the backends that serve them', () => {
  it('every 0.5B request lands on the one backend serving it; 7B requests never do', async () => {
    farm = await startFarm({ sims: [{}, {}, { servedModelNames: [M05B] }] });
    const [a, b, c] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    const client = farm.client();
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const r = await client.chat.completions.create({ model: M05B, messages: [{ role: 'user', content: `small ${i}` }], max_tokens: 2 });
        expect(r.model).toBe(M05B);
      }),
    );
    expect(hits(c)).toBe(12);
    expect(hits(a) + hits(b)).toBe(0);
    await Promise.all(Array.from({ length: 12 }, (_, i) => client.chat.completions.create({ model: M7B, messages: [{ role: 'user', content: `big ${i}` }], max_tokens: 2 })));
    expect(hits(c)).toBe(12);
    expect(hits(a) + hits(b)).toBe(12);
    expect(hits(a)).toBeGreaterThan(0);
    expect(hits(b)).toBeGreaterThan(0);
  });

  it('/v1/models is the union of the ready backends plus aliases whose target is served; others are omitted', async () => {
    farm = await startFarm({
      sims: [{}, {}, { servedModelNames: [M05B] }],
      env: { MODEL_ALIASES: `small=${M05B},big=${M7B},ghost=not-served-anywhere` },
    });
    const ids = async () => (await farm!.client().models.list()).data.map((m) => m.id);
    expect(await ids()).toEqual([M7B, M05B, 'small', 'big']);
    // The 0.5B backend goes away: its model and its alias leave the list once the gateway knows.
    await farm.sims[2]!.close();
    // A request for it makes the gateway notice the refused connection at once.
    await post(farm.url, chatBody(M05B), { 'x-gateway-fallback': 'off' }).then((r) => r.text());
    await waitFor(async () => !(await ids()).includes(M05B), 8_000, '0.5B gone from /v1/models');
    expect(await ids()).toEqual([M7B, 'big']);
  });

  it('a request without `model` gets the first model of the first backend in VLLM_URL order', async () => {
    farm = await startFarm({ sims: [{ servedModelNames: [M05B, 'second-name'] }, {}, {}] });
    const [first, b, c] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    for (let i = 0; i < 6; i++) {
      const res = await post(farm.url, chatBody(undefined, `no model ${i}`));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { model: string }).model).toBe(M05B);
    }
    expect(hits(first)).toBe(6);
    expect(hits(b) + hits(c)).toBe(0);
  });

  it("stays the first backend's first model while that backend restarts: never silently another backend's model", async () => {
    farm = await startFarm({ sims: [{ servedModelNames: [M05B] }, {}], env: { READY_WAIT_MS: '1000' } });
    const [first, other] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    const res0 = await post(farm.url, chatBody(undefined, 'before'));
    expect(((await res0.json()) as { model: string }).model).toBe(M05B);
    await first.close();
    // The gateway learns of it (refused), as it would of a vLLM restarting.
    await (await post(farm.url, chatBody(M05B, 'notice'), { 'x-gateway-fallback': 'off' })).text();
    const res = await post(farm.url, chatBody(undefined, 'during the restart'));
    const body = (await res.json()) as { model?: string };
    // Either the first backend's model or "retry shortly"; not the 7B of the second backend.
    if (res.status === 200) expect(body.model).toBe(M05B);
    else expect(res.status).toBe(503);
    expect(hits(other)).toBe(0);
  });
});
