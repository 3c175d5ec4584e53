import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Admission, type AdmissionOptions, type Release, type RejectReason } from '../../gateway/admission.js';
import { GatewayError } from '../../gateway/errors.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** An admission controller that records rejections, and a helper that tracks each waiter's outcome. */
function setup(options: Partial<AdmissionOptions> = {}) {
  const rejected: Array<[RejectReason, string]> = [];
  const admission = new Admission(
    { maxConcurrent: 1, maxQueue: 4, queueTimeoutMs: 10_000, ...options },
    { onReject: (reason, key) => rejected.push([reason, key]) },
  );
  const admitted: string[] = [];
  const releases = new Map<string, Release>();
  const errors = new Map<string, unknown>();
  /** Queues `label` for `key`; on admission records the label and keeps its release. */
  const wait = (key: string, label: string, signal: AbortSignal = new AbortController().signal) =>
    admission.acquire(key, signal).then(
      (release) => {
        admitted.push(label);
        releases.set(label, release);
      },
      (err: unknown) => {
        errors.set(label, err);
      },
    );
  const release = async (label: string) => {
    releases.get(label)!();
    await vi.advanceTimersByTimeAsync(0);
  };
  return { admission, rejected, admitted, releases, errors, wait, release };
}

function overloaded(err: unknown): GatewayError {
  expect(err).toBeInstanceOf(GatewayError);
  const e = err as GatewayError;
  expect(e).toMatchObject({ status: 503, type: 'server_error', code: 'server_overloaded' });
  expect(e.headers?.['retry-after']).toMatch(/^\d+$/);
  return e;
}

describe('slots', () => {
  it('tryAcquire takes free slots synchronously, up to maxConcurrent', () => {
    const { admission } = setup({ maxConcurrent: 2 });
    const a = admission.tryAcquire('k');
    const b = admission.tryAcquire('k');
    expect(a).toBeTypeOf('function');
    expect(b).toBeTypeOf('function');
    expect(admission.tryAcquire('k')).toBeUndefined();
    expect(admission.inFlight).toBe(2);
    a!();
    expect(admission.inFlight).toBe(1);
  });

  it('acquire resolves at once when a slot is free', async () => {
    const { admission } = setup();
    const release = await admission.acquire('k', new AbortController().signal);
    expect(admission.inFlight).toBe(1);
    release();
    expect(admission.inFlight).toBe(0);
  });

  it('release is idempotent: a second call frees nothing and hands nothing over', async () => {
    const { admission, wait, admitted, release } = setup({ maxConcurrent: 1 });
    const first = admission.tryAcquire('k')!;
    void wait('k', 'B');
    void wait('k', 'C');
    await vi.advanceTimersByTimeAsync(0);
    first();
    first();
    await vi.advanceTimersByTimeAsync(0);
    expect(admitted).toEqual(['B']);
    expect(admission.inFlight).toBe(1);
    expect(admission.queued).toBe(1);
    await release('B');
    await release('B');
    expect(admitted).toEqual(['B', 'C']);
    await release('C');
    await release('C');
    expect(admission.inFlight).toBe(0);
  });
});

describe('queue', () => {
  it('admits one key in FIFO order, handing each freed slot to the next waiter', async () => {
    const { admission, wait, admitted, release } = setup();
    const holder = admission.tryAcquire('k')!;
    for (const label of ['B', 'C', 'D']) void wait('k', label);
    expect(admission.queued).toBe(3);
    expect(admission.queuedFor('k')).toBe(3);
    expect(admission.tryAcquire('k')).toBeUndefined();
    holder();
    await vi.advanceTimersByTimeAsync(0);
    expect(admitted).toEqual(['B']);
    expect(admission.inFlight).toBe(1);
    await release('B');
    await release('C');
    expect(admitted).toEqual(['B', 'C', 'D']);
    await release('D');
    expect(admission).toMatchObject({ inFlight: 0, queued: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sheds past maxQueue with 503 server_overloaded, Retry-After and a queue-full message', async () => {
    const { admission, wait, errors, rejected } = setup({ maxQueue: 2 });
    admission.tryAcquire('k');
    void wait('k', 'B');
    void wait('k', 'C');
    await wait('k', 'D');
    const e = overloaded(errors.get('D'));
    expect(e.message).toMatch(/queue is full/);
    expect(e.message).not.toMatch(/timed out|timeout/i);
    expect(rejected).toEqual([['queue_full', 'k']]);
    expect(admission.queued).toBe(2);
  });

  it('with maxQueue 0 every request without a free slot is shed at once', async () => {
    const { admission, wait, errors } = setup({ maxQueue: 0 });
    admission.tryAcquire('k');
    await wait('other', 'B');
    overloaded(errors.get('B'));
    expect(admission.queued).toBe(0);
  });

  it('times a waiter out after queueTimeoutMs and says so', async () => {
    const { admission, wait, errors, rejected, admitted } = setup({ queueTimeoutMs: 3_000 });
    const holder = admission.tryAcquire('k')!;
    void wait('k', 'B');
    await vi.advanceTimersByTimeAsync(1_000);
    void wait('k', 'C');
    await vi.advanceTimersByTimeAsync(1_999);
    expect(errors.size).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    const e = overloaded(errors.get('B'));
    expect(e.message).toMatch(/timed out/);
    expect(rejected).toEqual([['queue_timeout', 'k']]);
    expect(admission.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    overloaded(errors.get('C'));
    expect(admission.queued).toBe(0);
    holder();
    await vi.advanceTimersByTimeAsync(0);
    expect(admitted).toEqual([]);
    expect(admission.inFlight).toBe(0);
  });

  it('a waiter whose client leaves leaves the queue at once, frees nothing it did not hold, and clears its timer', async () => {
    const { admission, wait, errors, admitted, release } = setup();
    const holder = admission.tryAcquire('k')!;
    const gone = new AbortController();
    void wait('k', 'B', gone.signal);
    void wait('k', 'C');
    expect(vi.getTimerCount()).toBe(2);
    const reason = new Error('client closed the connection');
    gone.abort(reason);
    // Synchronously: out of the queue, its timer gone, the slot still held by the holder.
    expect(admission.queued).toBe(1);
    expect(admission.queuedFor('k')).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    expect(admission.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors.get('B')).toBe(reason);
    holder();
    await vi.advanceTimersByTimeAsync(0);
    expect(admitted).toEqual(['C']);
    await release('C');
    expect(admission).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('an already-aborted signal is refused without queueing', async () => {
    const { admission } = setup();
    admission.tryAcquire('k');
    const gone = new AbortController();
    gone.abort('bye');
    await expect(admission.acquire('k', gone.signal)).rejects.toBe('bye');
    expect(admission.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an abort after admission changes nothing: the slot is released by its holder', async () => {
    const { admission } = setup();
    const holder = admission.tryAcquire('k')!;
    const ctl = new AbortController();
    const unlisten = vi.spyOn(ctl.signal, 'removeEventListener');
    const pending = admission.acquire('k', ctl.signal);
    holder();
    const release = await pending;
    // The waiter's abort listener is gone once it holds a slot: nothing keeps it alive on the signal.
    expect(unlisten).toHaveBeenCalledWith('abort', expect.any(Function));
    ctl.abort();
    expect(admission.inFlight).toBe(1);
    release();
    expect(admission.inFlight).toBe(0);
  });
});

describe('fairness between keys', () => {
  it('one key flooding the queue does not lock another out: displacement, then alternation', async () => {
    const { admission, wait, admitted, errors, rejected, release } = setup({ maxQueue: 4 });
    const holder = admission.tryAcquire('flood')!;
    for (const label of ['F1', 'F2', 'F3', 'F4']) void wait('flood', label);
    void wait('calm', 'C1');
    void wait('calm', 'C2');
    await vi.advanceTimersByTimeAsync(0);
    // The flood key's newest entries made room; the calm key was not shed.
    expect([...errors.keys()]).toEqual(['F4', 'F3']);
    for (const e of errors.values()) expect(overloaded(e).message).toMatch(/queue is full/);
    expect(rejected).toEqual([['queue_full', 'flood'], ['queue_full', 'flood']]);
    expect(admission.queuedFor('flood')).toBe(2);
    expect(admission.queuedFor('calm')).toBe(2);
    // A third calm request is at its fair share (4 / 2 keys): refused, nobody displaced.
    await wait('calm', 'C3');
    overloaded(errors.get('C3'));
    expect(rejected.at(-1)).toEqual(['queue_full', 'calm']);
    expect(admission.queued).toBe(4);

    holder();
    await vi.advanceTimersByTimeAsync(0);
    for (const label of ['F1', 'C1', 'F2']) await release(label);
    expect(admitted).toEqual(['F1', 'C1', 'F2', 'C2']);
    await release('C2');
    expect(admission).toMatchObject({ inFlight: 0, queued: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('round-robins across keys, FIFO within each, a served key moving to the back', async () => {
    const { admission, wait, admitted, release } = setup({ maxQueue: 10 });
    const holder = admission.tryAcquire('a')!;
    for (const [key, label] of [['a', 'a1'], ['a', 'a2'], ['a', 'a3'], ['b', 'b1'], ['c', 'c1'], ['c', 'c2']] as const) void wait(key, label);
    holder();
    await vi.advanceTimersByTimeAsync(0);
    // b1 is admitted and b runs dry; when b comes back it joins the back of the round (behind c, then a).
    await release('a1');
    expect(admitted).toEqual(['a1', 'b1']);
    void wait('b', 'b2');
    for (const label of ['b1', 'c1', 'a2', 'b2', 'c2']) await release(label);
    expect(admitted).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'c2', 'a3']);
  });

  it('a newcomer below its share displaces the newest waiter of the fullest key (ties: the newest arrival)', async () => {
    const { admission, wait, errors, rejected } = setup({ maxQueue: 5 });
    admission.tryAcquire('x');
    for (const [key, label] of [['a', 'a1'], ['b', 'b1'], ['a', 'a2'], ['b', 'b2'], ['c', 'c1']] as const) void wait(key, label);
    void wait('d', 'd1');
    await vi.advanceTimersByTimeAsync(0);
    expect([...errors.keys()]).toEqual(['b2']);
    expect(rejected).toEqual([['queue_full', 'b']]);
    expect([admission.queuedFor('a'), admission.queuedFor('b'), admission.queuedFor('c'), admission.queuedFor('d')]).toEqual([2, 1, 1, 1]);
  });

  it('a key alone in a full queue cannot displace itself', async () => {
    const { admission, wait, errors } = setup({ maxQueue: 2 });
    admission.tryAcquire('a');
    void wait('a', 'a1');
    void wait('a', 'a2');
    await wait('a', 'a3');
    expect([...errors.keys()]).toEqual(['a3']);
    expect(admission.queuedFor('a')).toBe(2);
  });
});

describe('Retry-After', () => {
  it('without any finished request, is the queue timeout in seconds (capped at 60)', async () => {
    for (const [queueTimeoutMs, expected] of [[7_500, '8'], [300, '1'], [120_000, '60']] as const) {
      const { admission, wait, errors } = setup({ maxQueue: 0, queueTimeoutMs });
      admission.tryAcquire('k');
      await wait('k', 'B');
      expect(overloaded(errors.get('B')).headers!['retry-after']).toBe(expected);
    }
  });

  it('estimates the time to drain the queue from how long slots are held', async () => {
    const { admission, wait, errors } = setup({ maxConcurrent: 2, maxQueue: 3, queueTimeoutMs: 30_000 });
    // Two requests each hold a slot for 4 s: mean holding time 4 s.
    const a = admission.tryAcquire('k')!;
    const b = admission.tryAcquire('k')!;
    await vi.advanceTimersByTimeAsync(4_000);
    a();
    b();
    admission.tryAcquire('k');
    admission.tryAcquire('k');
    for (const label of ['W1', 'W2', 'W3']) void wait('k', label);
    await wait('k', 'W4');
    // 3 waiters × 4 s / 2 slots = 6 s.
    expect(overloaded(errors.get('W4')).headers!['retry-after']).toBe('6');
  });

  it('never exceeds the queue timeout, by when everyone now queued has left the queue', async () => {
    const { admission, wait, errors } = setup({ maxConcurrent: 1, maxQueue: 3, queueTimeoutMs: 5_000 });
    const a = admission.tryAcquire('k')!;
    await vi.advanceTimersByTimeAsync(20_000);
    a();
    admission.tryAcquire('k');
    for (const label of ['W1', 'W2', 'W3']) void wait('k', label);
    await wait('k', 'W4');
    expect(overloaded(errors.get('W4')).headers!['retry-after']).toBe('5');
  });
});

describe('options', () => {
  it('refuses impossible sizes', () => {
    expect(() => new Admission({ maxConcurrent: 0, maxQueue: 1, queueTimeoutMs: 1 })).toThrow(RangeError);
    expect(() => new Admission({ maxConcurrent: 1.5, maxQueue: 1, queueTimeoutMs: 1 })).toThrow(RangeError);
    expect(() => new Admission({ maxConcurrent: 1, maxQueue: -1, queueTimeoutMs: 1 })).toThrow(RangeError);
    expect(() => new Admission({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 0 })).toThrow(RangeError);
  });
});
