/**
 * Issue 10, backend health: SIGKILL of one backend under load (only its in-flight requests fail, later
 * ones succeed on the others, it is taken out and readmitted after a restart on the same host:port), a
 * hanging backend ejected after BACKEND_EJECT_FAILURES first-byte timeouts, and one VLLM_URL whose passive
 * failures never eject it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { M7B, chatBody, hits, landedOn, post, startCliSim, startFarm, streamChat, waitFor, type CliSim, type Farm, type StreamResult } from './support.js';

let farm: Farm | undefined;
const clis: CliSim[] = [];
afterEach(async () => {
  await farm?.close();
  farm = undefined;
  await Promise.all(clis.splice(0).map((c) => c.kill()));
});

async function cliCompleted(cli: CliSim): Promise<number> {
  const res = await fetch(`${cli.url}/sim/stats`);
  return ((await res.json()) as { completedRequests: number }).completedRequests;
}

describe('SIGKILL of one backend under load', () => {
  it('fails only its in-flight streams; later requests succeed on the others; it is taken out, then readmitted after a restart', async () => {
    const cli = startCliSim({ host: '127.0.0.2' });
    clis.push(cli);
    await cli.ready;
    farm = await startFarm({ sims: [{}, {}], vllmUrl: (sims) => [...sims.map((s) => s.url), cli.url].join(','), env: { BACKEND_EJECT_BASE_MS: '500', BACKEND_EJECT_MAX_MS: '2000' } });
    const f = farm;
    const cliIndex = 2;

    // Load: 9 streams of ~1.5 s spread over the three backends.
    const streams: Array<Promise<StreamResult>> = [];
    for (let i = 0; i < 9; i++) streams.push(streamChat(f.url, chatBody(M7B, `<load-${i}> [[sim:itl=50]]`, { max_tokens: 30 })));
    await waitFor(async () => {
      const st = await f.status();
      return st.backends[cliIndex]!.in_flight >= 1 && f.sims[0]!.running() + f.sims[1]!.running() + st.backends[cliIndex]!.in_flight === 9;
    }, 5_000, 'all 9 streams running, some on the CLI backend');
    await cli.kill('SIGKILL');

    const results = await Promise.all(streams);
    let onDead = 0;
    results.forEach((r, i) => {
      const onLive = landedOn(f.sims, `<load-${i}>`).length === 1;
      expect(r.status).toBe(200);
      if (onLive) {
        expect(r.done, `stream ${i} on a live backend`).toBe(true);
      } else {
        onDead++;
        expect(r.done, `stream ${i} on the killed backend`).toBe(false);
        expect(r.errorEvent, `stream ${i} on the killed backend ends with an error event`).toBe(true);
      }
    });
    expect(onDead).toBeGreaterThanOrEqual(1);

    // Every later request succeeds on the others.
    const client = f.client();
    for (let i = 0; i < 20; i++) {
      const r = await client.chat.completions.create({ model: M7B, messages: [{ role: 'user', content: `after ${i}` }], max_tokens: 2 });
      expect(r.choices[0]?.message.content).toBeTruthy();
    }
    const dead = (await f.status()).backends[cliIndex]!;
    expect(dead.state).not.toBe('ready');
    expect(['starting', 'down', 'ejected', 'unhealthy']).toContain(dead.state);

    // Back on the same host:port: in rotation again within 15 s.
    const again = startCliSim({ host: '127.0.0.2', port: cli.port });
    clis.push(again);
    await again.ready;
    const t0 = performance.now();
    await waitFor(async () => (await f.status()).backends[cliIndex]!.state === 'ready', 15_000, 'restarted backend ready');
    await waitFor(async () => {
      await Promise.all(Array.from({ length: 6 }, (_, i) => client.chat.completions.create({ model: M7B, messages: [{ role: 'user', content: `back ${i}` }], max_tokens: 2 })));
      return (await cliCompleted(again)) > 0;
    }, 15_000 - (performance.now() - t0), 'requests reach the restarted backend');
  }, 40_000);
});

describe('a hanging backend', () => {
  it('is ejected after BACKEND_EJECT_FAILURES first-byte timeouts; its streams fail over; then requests go to the others', async () => {
    farm = await startFarm({
      sims: [{ fault: 'hang' }, {}],
      env: { FIRST_BYTE_TIMEOUT_MS: '300', BACKEND_EJECT_FAILURES: '2', BACKEND_EJECT_BASE_MS: '30000', BACKEND_EJECT_MAX_MS: '30000' },
    });
    const [hung, good] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    for (let i = 0; i < 16; i++) {
      const s = await streamChat(farm.url, chatBody(M7B, `hang ${i}`));
      expect(s.status).toBe(200);
      expect(s.done).toBe(true);
    }
    expect(hits(hung)).toBe(2);
    const st = await farm.status();
    expect(st.backends[0]!.state).toBe('ejected');
    expect(st.backends[0]!.last_error?.kind).toBe('first_byte_timeout');
    const client = farm.client();
    for (let i = 0; i < 8; i++) await client.chat.completions.create({ model: M7B, messages: [{ role: 'user', content: `later ${i}` }], max_tokens: 2 });
    expect(hits(hung)).toBe(2);
    expect(hits(good)).toBe(16 + 8);
  });
});

describe('one VLLM_URL', () => {
  for (const fault of ['http=503', 'reset-before-headers']) {
    it(`passive failures (${fault} five times) never eject the only backend: each reaches the client, the next good request succeeds`, async () => {
      farm = await startFarm({ sims: [{}], env: { BACKEND_EJECT_FAILURES: '2' } });
      for (let i = 0; i < 5; i++) {
        const res = await post(farm.url, chatBody(M7B, `fail ${i} [[sim:${fault}]]`));
        expect(res.status).toBe(fault === 'http=503' ? 503 : 502);
        await res.text();
      }
      expect(hits(farm.sims[0]!)).toBe(5);
      const st = await farm.status();
      expect(st.backends[0]!.state).toBe('ready');
      expect(st.backends[0]!.breaker.state).toBe('closed');
      const ok = await post(farm.url, chatBody(M7B, 'good'));
      expect(ok.status).toBe(200);
      await ok.text();
    });
  }
});
