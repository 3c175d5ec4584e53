import { describe, expect, it } from 'vitest';
import { areaOf, summariseProfile, type CpuProfile } from '../../scripts/bench/cpu-profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('writeHead', 'node:_http_server', 9) },
    { id: 4, callFrame: frame('', 'file:///work/main/node_modules/undici/lib/core/util.js', 41) },
    { id: 5, callFrame: frame('handle', 'file:///work/main/dist/gateway/routes/inference.js', 99) },
  ],
  // Each sample is charged the delta to the next one: 3 gets 100, 2 gets 600, 4 gets 200, 5 gets 100, 3 gets 0.
  samples: [3, 2, 4, 5, 3],
  timeDeltas: [0, 100, 600, 200, 100],
};

describe('summariseProfile', () => {
  it('charges self time per function and shares it over the non-idle time', () => {
    const s = summariseProfile(profile);
    expect(s.totalMs).toBeCloseTo(1.0, 10);
    expect(s.busyMs).toBeCloseTo(0.4, 10);
    expect(s.top[0]).toMatchObject({ name: '(anonymous)', where: 'undici/lib/core/util.js:42', area: 'undici', share: 0.5 });
    expect(s.top.map((t) => t.name)).toEqual(['(anonymous)', 'writeHead', 'handle']);
    expect(s.byArea.map((a) => a.area)).toEqual(['undici', 'node', 'gateway']);
  });

  it('keeps only the top N functions', () => {
    expect(summariseProfile(profile, 1).top).toHaveLength(1);
  });
});

describe('areaOf', () => {
  it('names node internals, scoped and plain packages, our own dist folders and V8 pseudo-frames', () => {
    expect(areaOf('node:internal/streams/writable', 'x')).toBe('node');
    expect(areaOf('file:///a/node_modules/@hono/node-server/dist/index.mjs', 'x')).toBe('@hono/node-server');
    expect(areaOf('file:///a/node_modules/pino/lib/proto.js', 'x')).toBe('pino');
    expect(areaOf('file:///a/dist/gateway/app.js', 'x')).toBe('gateway');
    expect(areaOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(areaOf('', 'memcpy')).toBe('(native)');
  });
});
