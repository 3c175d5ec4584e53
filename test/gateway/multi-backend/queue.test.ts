/**
 * Issue 10, admission across backends: with every slot of every backend of the model taken, a request
 * waits in the queue and takes the first slot that frees on any backend serving its model; waiters for
 * one model never hold up a request for another model that has a free slot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { M05B, M7B, chatBody, landedOn, post, startFarm, waitFor, type Farm } from './support.js';

let farm: Farm | undefined;
afterEach(async () => {
  await farm?.close();
  farm = undefined;
});

describe('admission queue over several backends', () => {
  it('a queued request takes the first slot that frees on any backend of its model; another model is not held up', async () => {
    farm = await startFarm({ sims: [{}, {}, { servedModelNames: [M05B] }], env: { MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '8' } });
    const f = farm;
    const t0 = performance.now();
    // Two 7B holders, one slot each: the first ends after ~0.8 s, the second after ~4 s.
    const short = post(f.url, chatBody(M7B, '<short> [[sim:itl=20]]', { max_tokens: 40, stream: true })).then(async (r) => ({ status: r.status, text: await r.text(), at: performance.now() - t0 }));
    await waitFor(() => f.gw.admission.inFlight === 1, 2_000, 'short holder admitted');
    const long = post(f.url, chatBody(M7B, '<long> [[sim:itl=100]]', { max_tokens: 40, stream: true })).then(async (r) => ({ status: r.status, text: await r.text(), at: performance.now() - t0 }));
    await waitFor(() => f.gw.admission.inFlight === 2, 2_000, 'long holder admitted');
    const shortHome = landedOn(f.sims, '<short>');
    const longHome = landedOn(f.sims, '<long>');
    expect(shortHome).toHaveLength(1);
    expect(longHome).toHaveLength(1);
    expect(shortHome[0]).not.toBe(longHome[0]);

    const queued = post(f.url, chatBody(M7B, '<queued>')).then(async (r) => ({ status: r.status, body: await r.json(), at: performance.now() - t0 }));
    await waitFor(() => f.gw.admission.queued === 1, 2_000, 'third 7B request queued');

    // Meanwhile the 0.5B backend has a free slot: its request is answered at once.
    const s0 = performance.now();
    const small = await post(f.url, chatBody(M05B, '<small>'));
    expect(small.status).toBe(200);
    expect(performance.now() - s0).toBeLessThan(500);
    expect(f.gw.admission.queued).toBe(1);

    const [q, s, l] = await Promise.all([queued, short, long]);
    expect(q.status).toBe(200);
    expect(s.status).toBe(200);
    // Answered when the short holder's slot freed, long before the long one ended, on the short one's backend.
    expect(q.at).toBeGreaterThanOrEqual(s.at - 50);
    expect(q.at).toBeLessThan(l.at - 1_000);
    expect(landedOn(f.sims, '<queued>')).toEqual(shortHome);
    expect(l.text).toContain('data: [DONE]');
  });
});
