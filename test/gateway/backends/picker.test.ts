import { describe, expect, it } from 'vitest';
import { Picker, type PickContext } from '../../../gateway/backends/picker.js';
import { AffinityRing } from '../../../gateway/backends/scorers/affinity.js';
import type { Candidate } from '../../../gateway/backends/scorers/candidate.js';
import { hash32 } from '../../../gateway/backends/scorers/hash.js';
import { pickLeastLoaded } from '../../../gateway/backends/scorers/least-loaded.js';
import { RoundRobin } from '../../../gateway/backends/scorers/round-robin.js';

interface Fake extends Candidate {
  id: string;
  weight: number;
  inFlight: number;
  maxConcurrent: number;
  fixedLoad: number;
}

const fake = (id: string, fixedLoad = 0, extra: Partial<Fake> = {}): Fake => ({
  id,
  weight: 1,
  inFlight: 0,
  maxConcurrent: 10,
  fixedLoad,
  load() {
    return this.fixedLoad;
  },
  ...extra,
});

/** mulberry32: a seeded rng, so a statistical test is the same every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const count = (picks: Array<Candidate | undefined>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const p of picks) if (p) out[p.id] = (out[p.id] ?? 0) + 1;
  return out;
};

describe('least-loaded: power of two choices', () => {
  it('compares two distinct candidates: with two backends at 0.1 and 0.9 the lighter wins every draw', () => {
    const rng = seeded(1);
    const light = fake('light', 0.1);
    const heavy = fake('heavy', 0.9);
    for (let i = 0; i < 2_000; i++) expect(pickLeastLoaded([heavy, light], rng)).toBe(light);
  });

  it('draws two distinct candidates even when the rng repeats itself', () => {
    const a = fake('a', 0.5);
    const b = fake('b', 0.2);
    // A constant rng would draw index 0 twice if the second draw did not exclude the first.
    expect(pickLeastLoaded([a, b], () => 0)).toBe(b);
    expect(pickLeastLoaded([b, a], () => 0)).toBe(b);
  });

  it('with four backends the busy one gets fewer picks than each of the others', () => {
    const rng = seeded(2);
    const cands = [fake('a', 0.2), fake('b', 0.2), fake('c', 0.2), fake('busy', 0.9)];
    const c = count(Array.from({ length: 4_000 }, () => pickLeastLoaded(cands, rng)));
    // The busy one can only lose a comparison: it is never picked.
    expect(c.busy ?? 0).toBe(0);
    for (const id of ['a', 'b', 'c']) expect(c[id]).toBeGreaterThan(1_000);
  });

  it('ties go to the lower in-flight count', () => {
    const a = fake('a', 0.5, { inFlight: 5 });
    const b = fake('b', 0.5, { inFlight: 2 });
    for (let i = 0; i < 50; i++) expect(pickLeastLoaded([a, b], seeded(i))).toBe(b);
  });

  it('weights shape the draw: in an idle set weight 2 is drawn more often (5/12 vs 7/24 of the picks)', () => {
    const rng = seeded(3);
    const cands = [fake('w2', 0, { weight: 2 }), fake('w1a', 0), fake('w1b', 0)];
    const c = count(Array.from({ length: 24_000 }, () => pickLeastLoaded(cands, rng)));
    expect(c.w2).toBeGreaterThan(9_400);
    expect(c.w2).toBeLessThan(10_600);
    expect(c.w1a).toBeGreaterThan(6_400);
    expect(c.w1a).toBeLessThan(7_600);
  });

  it('zero or one candidate', () => {
    expect(pickLeastLoaded([], Math.random)).toBeUndefined();
    const a = fake('a');
    expect(pickLeastLoaded([a], Math.random)).toBe(a);
  });
});

describe('round-robin', () => {
  it('cycles through the candidates in turn', () => {
    const rr = new RoundRobin();
    const cands = [fake('a'), fake('b'), fake('c')];
    const ids = Array.from({ length: 6 }, () => rr.pick(cands)?.id);
    expect(ids).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('weights 2:1 interleave (smooth weighted round-robin)', () => {
    const rr = new RoundRobin();
    const cands = [fake('a', 0, { weight: 2 }), fake('b')];
    expect(Array.from({ length: 6 }, () => rr.pick(cands)?.id)).toEqual(['a', 'b', 'a', 'a', 'b', 'a']);
  });
});

describe('affinity: consistent hashing with bounded loads', () => {
  const sessions = Array.from({ length: 2_000 }, (_, i) => `session-${i}`);

  it('hash32 spreads similar keys', () => {
    const buckets = new Array<number>(8).fill(0);
    for (let i = 0; i < 8_000; i++) buckets[hash32(`gpu-a#${i}`) % 8]! += 1;
    for (const n of buckets) expect(n).toBeGreaterThan(800);
  });

  it('keeps a session on one backend', () => {
    const ring = new AffinityRing();
    const cands = [fake('a'), fake('b'), fake('c')];
    for (const s of sessions.slice(0, 100)) {
      const first = ring.pick(cands, s, 1.25);
      for (let i = 0; i < 5; i++) expect(ring.pick(cands, s, 1.25)).toBe(first);
    }
  });

  it('spreads sessions over the backends', () => {
    const ring = new AffinityRing();
    const cands = [fake('a'), fake('b'), fake('c'), fake('d')];
    const c = count(sessions.map((s) => ring.pick(cands, s, 1.25)));
    for (const id of ['a', 'b', 'c', 'd']) expect(c[id]).toBeGreaterThan(300);
  });

  it('adding a fifth backend moves only about 1/5 of the sessions, all of them to the new one', () => {
    const ring = new AffinityRing();
    const four = [fake('http://10.0.0.1:8000'), fake('http://10.0.0.2:8000'), fake('http://10.0.0.3:8000'), fake('http://10.0.0.4:8000')];
    const before = sessions.map((s) => ring.pick(four, s, 1.25)?.id);
    const five = [...four, fake('http://10.0.0.5:8000')];
    const after = sessions.map((s) => ring.pick(five, s, 1.25)?.id);
    const moved = after.filter((id, i) => id !== before[i]);
    expect(moved.every((id) => id === 'http://10.0.0.5:8000')).toBe(true);
    expect(moved.length / sessions.length).toBeGreaterThan(0.1);
    expect(moved.length / sessions.length).toBeLessThan(0.3);
  });

  it("removing a backend moves only that backend's sessions", () => {
    const ring = new AffinityRing();
    const cands = [fake('a'), fake('b'), fake('c'), fake('d')];
    const before = sessions.map((s) => ring.pick(cands, s, 1.25)?.id);
    const without = cands.filter((c) => c.id !== 'c');
    const after = sessions.map((s) => ring.pick(without, s, 1.25)?.id);
    after.forEach((id, i) => {
      if (before[i] !== 'c') expect(id).toBe(before[i]);
    });
  });

  it("lets go when the session's backend is over the bound, and comes back when it is not", () => {
    const ring = new AffinityRing();
    const cands = [fake('a', 0.1), fake('b', 0.1), fake('c', 0.1)];
    const key = 'sticky-session';
    const home = ring.pick(cands, key, 1.25) as Fake;
    // Home at 8 of 10, the others at 1: far over 1.25 × the mean.
    home.fixedLoad = 0.8;
    const away = ring.pick(cands, key, 1.25);
    expect(away).toBeDefined();
    expect(away).not.toBe(home);
    home.fixedLoad = 0.1;
    expect(ring.pick(cands, key, 1.25)).toBe(home);
  });

  it('an idle set (all loads 0) keeps affinity: the +1 request term avoids dividing zero by zero', () => {
    const ring = new AffinityRing();
    const cands = [fake('a'), fake('b')];
    const owner = ring.owner('s1');
    expect(owner).toBeUndefined();
    const picked = ring.pick(cands, 's1', 1.0);
    expect(picked?.id).toBe(ring.owner('s1'));
  });
});

describe('Picker: composes affinity and the strategy', () => {
  const ctx = (extra: Partial<PickContext> = {}): PickContext => ({ strategy: 'least-loaded', affinity: true, affinityBound: 1.25, rng: seeded(9), ...extra });

  it('uses the ring when a session key is given, the strategy otherwise', () => {
    const picker = new Picker();
    const cands = [fake('a', 0.3), fake('b', 0.3), fake('c', 0.3)];
    for (let i = 0; i < 50; i++) {
      const owner = picker.pick(cands, ctx({ sessionKey: `k${i}` }));
      expect(owner?.id).toBe(picker.ring.owner(`k${i}`));
    }
    // Without a key the least loaded wins, whatever the ring says.
    cands[1]!.fixedLoad = 0.05;
    const rng = seeded(10);
    const c = count(Array.from({ length: 300 }, () => picker.pick(cands, ctx({ rng }))));
    expect(c.b).toBeGreaterThan(150);
  });

  it('without affinity ignores the session key', () => {
    const picker = new Picker();
    const cands = [fake('a', 0.9), fake('b', 0.1)];
    for (let i = 0; i < 20; i++) expect(picker.pick(cands, ctx({ affinity: false, sessionKey: `s${i}` }))?.id).toBe('b');
  });

  it('round-robin strategy', () => {
    const picker = new Picker();
    const cands = [fake('a'), fake('b')];
    expect([1, 2, 3, 4].map(() => picker.pick(cands, ctx({ strategy: 'round-robin', affinity: false }))?.id)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('no candidates: undefined', () => {
    expect(new Picker().pick([], ctx())).toBeUndefined();
  });
});
