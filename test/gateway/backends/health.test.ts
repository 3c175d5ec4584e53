import { describe, expect, it } from 'vitest';
import { Breaker, ProbeHistory, countsAgainstBackend } from '../../../gateway/backends/health.js';

const opts = { ejectFailures: 3, ejectBaseMs: 1_000, ejectMaxMs: 8_000 };

function failTimes(b: Breaker, n: number, now: number, lastUsable = false): boolean[] {
  return Array.from({ length: n }, () => b.failure(now, lastUsable));
}

describe('Breaker: the passive circuit breaker of one backend', () => {
  it('ejects after ejectFailures consecutive failures, not before', () => {
    const b = new Breaker(opts);
    expect(failTimes(b, 2, 0)).toEqual([false, false]);
    expect(b.state(0)).toBe('closed');
    expect(b.failure(0, false)).toBe(true);
    expect(b.state(0)).toBe('open');
    expect(b.admits(0)).toBe(false);
    expect(b.state(999)).toBe('open');
    expect(b.state(1_000)).toBe('half-open');
  });

  it('a success resets the count', () => {
    const b = new Breaker(opts);
    failTimes(b, 2, 0);
    b.success(0);
    expect(b.failures).toBe(0);
    expect(failTimes(b, 2, 0)).toEqual([false, false]);
    expect(b.state(0)).toBe('closed');
  });

  it('half-open lets exactly one probe request through; its success closes the breaker', () => {
    const b = new Breaker(opts);
    failTimes(b, 3, 0);
    expect(b.admits(1_000)).toBe(true);
    b.onTake(1_000);
    expect(b.admits(1_000)).toBe(false);
    expect(b.success(1_200)).toBe(true);
    expect(b.state(1_200)).toBe('closed');
    expect(b.failures).toBe(0);
    expect(b.admits(1_200)).toBe(true);
    // The next ejection starts again from the base backoff.
    failTimes(b, 3, 2_000);
    expect(b.state(2_999)).toBe('open');
    expect(b.state(3_000)).toBe('half-open');
  });

  it('a probe that ends without a verdict frees the probe slot', () => {
    const b = new Breaker(opts);
    failTimes(b, 3, 0);
    b.onTake(1_000);
    b.onRelease();
    expect(b.admits(1_000)).toBe(true);
  });

  it('a failed probe ejects again with a doubled backoff, capped at ejectMaxMs', () => {
    const b = new Breaker(opts);
    failTimes(b, 3, 0);
    let now = 0;
    const backoffs: number[] = [];
    for (let i = 0; i < 6; i++) {
      now += b.backoffMs;
      expect(b.state(now)).toBe('half-open');
      b.onTake(now);
      expect(b.failure(now, false)).toBe(true);
      backoffs.push(b.openUntil - now);
    }
    expect(backoffs).toEqual([2_000, 4_000, 8_000, 8_000, 8_000, 8_000]);
  });

  it('failures reported while open (old requests finishing) neither extend nor count', () => {
    const b = new Breaker(opts);
    failTimes(b, 3, 0);
    expect(b.failure(500, false)).toBe(false);
    expect(b.success(600)).toBe(false);
    expect(b.state(1_000)).toBe('half-open');
  });

  it('never ejects the last usable backend of a model', () => {
    const b = new Breaker(opts);
    expect(failTimes(b, 10, 0, true).some(Boolean)).toBe(false);
    expect(b.state(0)).toBe('closed');
    // Once another backend is usable again, the next failure ejects it.
    expect(b.failure(0, false)).toBe(true);
  });

  it('a failed probe of the last usable backend returns it to full service instead of ejecting it', () => {
    const b = new Breaker(opts);
    failTimes(b, 3, 0);
    b.onTake(1_000);
    expect(b.failure(1_000, true)).toBe(false);
    expect(b.state(1_000)).toBe('closed');
    expect(b.admits(1_000)).toBe(true);
  });

  it('counts connection, engine and 5xx failures, not client errors or long generations', () => {
    for (const k of ['connect_refused', 'connect_timeout', 'reset', 'first_byte_timeout', 'http_5xx', 'stream_truncated'] as const) {
      expect(countsAgainstBackend(k)).toBe(true);
    }
    for (const k of ['http_4xx', 'idle_timeout', 'total_timeout', 'other'] as const) expect(countsAgainstBackend(k)).toBe(false);
  });
});

describe('ProbeHistory: starting vs down', () => {
  it('a backend never ready is starting, whatever its probes say', () => {
    const h = new ProbeHistory(3);
    for (let i = 0; i < 10; i++) h.record('failed');
    expect(h.down).toBe(false);
    expect(h.everReady).toBe(false);
  });

  it('ready, then ejectFailures failed probes in a row: down; a refusal (restart, loading) is starting again', () => {
    const h = new ProbeHistory(3);
    h.record('ready');
    h.record('failed');
    h.record('failed');
    expect(h.down).toBe(false);
    h.record('failed');
    expect(h.down).toBe(true);
    h.record('refused');
    expect(h.down).toBe(false);
    h.record('ready');
    h.record('failed');
    expect(h.down).toBe(false);
  });
});
