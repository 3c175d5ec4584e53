import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Admission, type AdmissionOptions, type RejectReason, type SlotBackend, type SlotSource } from '../../gateway/admission.js';
import { GatewayError } from '../../gateway/errors.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

type Release = () => void;

/** A backend with a fixed number of slots, serving the models listed. */
class FakeBackend implements SlotBackend {
  inFlight = 0;
  usable = true;
  constructor(
    readonly id: string,
    readonly maxConcurrent: number,
    readonly models: readonly string[],
    readonly set: FakeSet,
  ) {}
  get hasFreeSlot() {
    return this.usable && this.inFlight < this.maxConcurrent;
  }
  serves(model: string) {
    return this.models.includes(model);
  }
  take() {
    this.inFlight++;
  }
  put() {
    this.inFlight--;
    for (const l of this.set.slotListeners) l(this);
  }
}

/** The admission's view of a backend set, with backends that can be made (un)usable. */
class FakeSet implements SlotSource<FakeBackend> {
  readonly backends: FakeBackend[] = [];
  readonly slotListeners: Array<(b: FakeBackend) => void> = [];
  readonly changeListeners: Array<() => void> = [];
  add(id: string, maxConcurrent: number, models: readonly string[] = ['m']) {
    const b = new FakeBackend(id, maxConcurrent, models, this);
    this.backends.push(b);
    for (const l of this.changeListeners) l();
    return b;
  }
  setUsable(b: FakeBackend, usable: boolean) {
    b.usable = usable;
    for (const l of this.changeListeners) l();
  }
  withFreeSlot(model: string) {
    return this.backends.filter((b) => b.hasFreeSlot && b.serves(model));
  }
  capacity() {
    return this.backends.reduce((n, b) => n + (b.usable ? b.maxConcurrent : 0), 0);
  }
  onSlotFree(l: (b: FakeBackend) => void) {
    this.slotListeners.push(l);
  }
  onChange(l: () => void) {
    this.changeListeners.push(l);
  }
}

const first = (c: FakeBackend[]) => c[0];

/**
 * The single-backend view most tests use: `tryAcquire(key)` / `acquire(key, signal)` for model `m`,
 * slots as release functions.
 */
function singleModel(inner: Admission<FakeBackend>) {
  return {
    get inFlight() {
      return inner.inFlight;
    },
    get queued() {
      return inner.queued;
    },
    queuedFor: (key: string) => inner.queuedFor(key),
    tryAcquire: (key: string): Release | undefined => inner.tryAcquire({ key, model: 'm', choose: first })?.release,
    acquire: (key: string, signal: AbortSignal): Promise<Release> => inner.acquire({ key, model: 'm', choose: first }, signal).then((slot) => slot.release),
  };
}

/** An admission controller that records rejections, and a helper that tracks each waiter's outcome. */
function setup(options: Partial<AdmissionOptions & { maxConcurrent: number }> = {}) {
  const rejected: Array<[RejectReason, string]> = [];
  const set = new FakeSet();
  set.add('b1', options.maxConcurrent ?? 1);
  const inner = new Admission<FakeBackend>({ maxQueue: 4, queueTimeoutMs: 10_000, ...options }, set, { onReject: (reason, key) => rejected.push([reason, key]) });
  const admission = singleModel(inner);
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
  return { admission, inner, set, rejected, admitted, releases, errors, wait, release };
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
    const set = new FakeSet();
    expect(() => new Admission({ maxQueue: -1, queueTimeoutMs: 1 }, set)).toThrow(RangeError);
    expect(() => new Admission({ maxQueue: 1.5, queueTimeoutMs: 1 }, set)).toThrow(RangeError);
    expect(() => new Admission({ maxQueue: 1, queueTimeoutMs: 0 }, set)).toThrow(RangeError);
  });
});

describe('several backends and models', () => {
  const req = (key: string, model: string, choose = first) => ({ key, model, choose });

  it('each backend takes its own concurrency; a freed slot goes to a waiter that backend can serve', async () => {
    const set = new FakeSet();
    const a = set.add('a', 1, ['big']);
    const b = set.add('b', 2, ['big', 'small']);
    const admission = new Admission<FakeBackend>({ maxQueue: 8, queueTimeoutMs: 10_000 }, set);
    const s1 = admission.tryAcquire(req('k', 'big'))!;
    const s2 = admission.tryAcquire(req('k', 'big'))!;
    const s3 = admission.tryAcquire(req('k', 'big'))!;
    expect([s1.backend.id, s2.backend.id, s3.backend.id]).toEqual(['a', 'b', 'b']);
    expect(admission.tryAcquire(req('k', 'big'))).toBeUndefined();
    const waitingBig = admission.acquire(req('k', 'big'), new AbortController().signal);
    expect(admission.queued).toBe(1);
    s1.release();
    const got = await waitingBig;
    expect(got.backend).toBe(a);
    expect(a.inFlight).toBe(1);
    expect(admission.inFlight).toBe(3);
    expect(b.inFlight).toBe(2);
  });

  it('waiters for one model never block a request for another model that has a free slot', async () => {
    const set = new FakeSet();
    set.add('gpu', 1, ['big']);
    set.add('cpu', 1, ['small']);
    const admission = new Admission<FakeBackend>({ maxQueue: 8, queueTimeoutMs: 10_000 }, set);
    admission.tryAcquire(req('k', 'big'))!;
    const queued = admission.acquire(req('k', 'big'), new AbortController().signal);
    void queued.catch(() => undefined);
    expect(admission.queued).toBe(1);
    const small = admission.tryAcquire(req('other', 'small'));
    expect(small?.backend.id).toBe('cpu');
    // A slot freed on the CPU backend is not handed to the waiter for `big`.
    small!.release();
    expect(admission.queued).toBe(1);
  });

  it('a backend becoming usable serves the queue at once, fairly across keys', async () => {
    const set = new FakeSet();
    const a = set.add('a', 1);
    const admission = new Admission<FakeBackend>({ maxQueue: 8, queueTimeoutMs: 10_000 }, set);
    admission.tryAcquire(req('x', 'm'))!;
    const order: string[] = [];
    const wait = (key: string, label: string) => admission.acquire(req(key, 'm'), new AbortController().signal).then(() => order.push(label));
    const all = [wait('x', 'x1'), wait('x', 'x2'), wait('y', 'y1')];
    expect(a.inFlight).toBe(1);
    set.add('b', 2);
    await Promise.all(all.slice(0, 1).concat(all.slice(2)));
    expect(order).toEqual(['x1', 'y1']);
    expect(admission.queued).toBe(1);
  });

  it('a failover request skips the backends it already tried', () => {
    const set = new FakeSet();
    set.add('a', 4);
    set.add('b', 4);
    const admission = new Admission<FakeBackend>({ maxQueue: 8, queueTimeoutMs: 10_000 }, set);
    const slot = admission.tryAcquire({ key: 'k', model: 'm', exclude: new Set(['a']), choose: first });
    expect(slot?.backend.id).toBe('b');
    expect(admission.tryAcquire({ key: 'k', model: 'm', exclude: new Set(['a', 'b']), choose: first })).toBeUndefined();
  });

  it('MAX_QUEUE=0 refuses at once when every slot is taken', async () => {
    const set = new FakeSet();
    set.add('a', 1);
    const admission = new Admission<FakeBackend>({ maxQueue: 0, queueTimeoutMs: 10_000 }, set);
    admission.tryAcquire(req('k', 'm'))!;
    await expect(admission.acquire(req('k', 'm'), new AbortController().signal)).rejects.toMatchObject({ status: 503, reason: 'queue_full' });
  });
});
