import { describe, expect, it } from 'vitest';
import { difference, distribution, median, percentile, percentileSorted, ratio, Sample } from '../../scripts/bench/stats.js';

describe('percentile', () => {
  it('interpolates between the two nearest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 20, 30, 40, 50], 25)).toBe(20);
    // rank 0.99 * 99 = 98.01 between 99 and 100
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBeCloseTo(99.01, 10);
  });

  it('does not depend on input order and does not reorder the input', () => {
    const values = [5, 1, 4, 2, 3];
    expect(percentile(values, 50)).toBe(3);
    expect(values).toEqual([5, 1, 4, 2, 3]);
  });

  it('returns the ends for p 0 and 100, and NaN for an empty sample', () => {
    expect(percentileSorted([1, 9], 0)).toBe(1);
    expect(percentileSorted([1, 9], 100)).toBe(9);
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([7], 99)).toBe(7);
  });

  it('sorts numerically, not as strings', () => {
    expect(percentile([100, 9, 20], 50)).toBe(20);
  });
});

describe('median', () => {
  it('ignores repeats that produced no figure', () => {
    expect(median([1, Number.NaN, 3])).toBe(2);
    expect(median([Number.NaN])).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
  });
});

describe('distribution', () => {
  it('summarises n, p50, p99, mean and max', () => {
    const d = distribution([4, 2, 6, 8]);
    expect(d).toEqual({ n: 4, p50: 5, p99: expect.closeTo(7.94, 10), mean: 5, max: 8 });
  });

  it('is all NaN for an empty sample, with n 0', () => {
    const d = distribution([]);
    expect(d.n).toBe(0);
    expect(d.p50).toBeNaN();
    expect(d.max).toBeNaN();
  });
});

describe('ratio and difference', () => {
  it('refuse to form a figure from a missing or zero baseline', () => {
    expect(ratio(2, 4)).toBe(0.5);
    expect(ratio(2, 0)).toBeNaN();
    expect(ratio(Number.NaN, 1)).toBeNaN();
    expect(difference(5, 3)).toBe(2);
    expect(difference(5, Number.NaN)).toBeNaN();
  });
});

describe('Sample', () => {
  it('grows past its initial capacity and keeps every value in order', () => {
    const s = new Sample();
    for (let i = 0; i < 5000; i++) s.push(i);
    expect(s.length).toBe(5000);
    const v = s.values();
    expect(v.length).toBe(5000);
    expect(v[0]).toBe(0);
    expect(v[4999]).toBe(4999);
  });
});
