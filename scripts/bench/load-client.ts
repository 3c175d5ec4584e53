/**
 * @module bench/load-client
 * The load client, run as its own process (forked by the benchmark and pinned to the upstream core), so
 * its CPU never counts against a target. It receives a LoadSpec, drives the target with undici's
 * dispatcher API (no web streams, no per-chunk promises: the client shares a core with the simulator and
 * must stay cheap), and tells the parent when the measured window starts and ends so the parent can read
 * /proc at exactly those moments.
 *
 * Closed loop: `concurrency` workers each send the next request as soon as the previous one ends (split
 * evenly over `origins` when several are given; with `conversation`, each worker is a chat session).
 * Idle: `concurrency` streams are opened (in batches), held open for `holdMs` once every one has
 * delivered a token, then aborted.
 */
import { performance } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';
import { Conversation } from './conversation.js';
import type { ClientMessage, LoadResult, LoadSpec, ParentMessage } from './load-protocol.js';
import { SseTimer } from './sse-timing.js';
import { distribution, Sample } from './stats.js';

type Phase = 'warmup' | 'window' | 'after';

/**
 * Token events of one stream closer together than this arrived in the same socket read: undici hands
 * each chunk of a chunked body to the handler separately but synchronously, microseconds apart.
 */
const BURST_MS = 0.05;

interface Outcome {
  ok: boolean;
  failure?: string;
}

class Recorder {
  phase: Phase = 'warmup';
  completed = 0;
  failed = 0;
  failedTotal = 0;
  tokens = 0;
  /** Bursts of token events inside the window (see LoadResult.tokenBursts). */
  tokenBursts = 0;
  tokenCountMismatches = 0;
  tokenCountChecked = 0;
  readonly failures = new Set<string>();
  readonly latency = new Sample();
  readonly ttft = new Sample();
  readonly gap = new Sample();

  fail(reason: string): void {
    this.failedTotal++;
    if (this.phase === 'window') this.failed++;
    if (this.failures.size < 5) this.failures.add(reason);
  }
}

function send(message: ClientMessage): void {
  process.send?.(message);
}

/** One request through the dispatcher; resolves when it ends, however it ends. */
function exchange(pool: Pool, spec: LoadSpec, rec: Recorder, abortable?: Set<Dispatcher.DispatchController>, turn?: { body: string; headers: Record<string, string> }): Promise<Outcome> {
  return new Promise((resolve) => {
    const start = performance.now();
    let status = 0;
    let controller: Dispatcher.DispatchController | undefined;
    let lastToken = -1;
    const timer = spec.stream
      ? new SseTimer((at) => {
          if (rec.phase === 'window') {
            rec.tokens++;
            if (lastToken >= 0) rec.gap.push(at - lastToken);
            if (lastToken < 0 || at - lastToken > BURST_MS) rec.tokenBursts++;
          }
          lastToken = rec.phase === 'window' ? at : -1;
          if (timer?.tokenEvents === 1 && rec.phase === 'window') rec.ttft.push(at - start);
        }, spec.dialect)
      : undefined;
    const finish = (outcome: Outcome): void => {
      abortable?.delete(controller as Dispatcher.DispatchController);
      if (outcome.ok) {
        if (rec.phase === 'window') {
          rec.completed++;
          rec.latency.push(performance.now() - start);
          if (timer?.completionTokens !== undefined) {
            rec.tokenCountChecked++;
            if (timer.completionTokens !== timer.tokenEvents) rec.tokenCountMismatches++;
          }
        }
      } else if (rec.phase !== 'after' || !abortable) {
        rec.fail(outcome.failure ?? 'failed');
      }
      resolve(outcome);
    };
    pool.dispatch(
      { path: spec.path, method: 'POST', headers: turn?.headers ?? spec.headers, body: turn?.body ?? spec.body },
      {
        onRequestStart(c) {
          controller = c;
          abortable?.add(c);
        },
        onResponseStart(_c, statusCode) {
          status = statusCode;
        },
        onResponseData(_c, chunk) {
          timer?.feed(chunk.toString('latin1'), performance.now());
        },
        onResponseEnd() {
          if (status !== 200) finish({ ok: false, failure: `HTTP ${status}` });
          else if (timer && timer.errorEvent) finish({ ok: false, failure: 'error event in stream' });
          else if (timer && !timer.done) finish({ ok: false, failure: 'stream ended without [DONE]' });
          else finish({ ok: true });
        },
        onResponseError(_c, err) {
          finish({ ok: false, failure: `${err.name}: ${err.message}` });
        },
      },
    );
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function closedLoop(spec: LoadSpec, pools: Pool[], rec: Recorder): Promise<number> {
  let stopping = false;
  // Starts spread over most of the warm-up: streams of equal length started together would stay in
  // lock-step, arriving as a herd every cycle (inflating TTFT) and finishing in waves (so the count inside
  // the window would depend on where the waves fall).
  const spread = (spec.warmupMs * 0.9) / spec.concurrency;
  const worker = async (_: unknown, i: number): Promise<void> => {
    const pool = pools[i % pools.length] as Pool;
    const chat = spec.conversation ? new Conversation(spec.conversation, spec.body, i) : undefined;
    if (i > 0) await sleep(i * spread);
    while (!stopping) {
      if (!chat) {
        await exchange(pool, spec, rec);
        continue;
      }
      const { body, sessionId } = chat.next();
      await exchange(pool, spec, rec, undefined, { body, headers: { ...spec.headers, 'x-session-id': sessionId } });
    }
  };
  const workers = Array.from({ length: spec.concurrency }, worker);
  await sleep(spec.warmupMs);
  send({ type: 'window-start' });
  rec.phase = 'window';
  const t0 = performance.now();
  await sleep(spec.windowMs);
  rec.phase = 'after';
  const t1 = performance.now();
  send({ type: 'window-end' });
  stopping = true;
  await Promise.all(workers);
  return t1 - t0;
}

async function idle(spec: LoadSpec, pool: Pool, rec: Recorder): Promise<{ windowMs: number; open: number }> {
  const controllers = new Set<Dispatcher.DispatchController>();
  const pending: Promise<Outcome>[] = [];
  // Token events count as "window" while streams open, so each stream's first token is timed.
  rec.phase = 'window';
  const deadline = performance.now() + spec.openTimeoutMs;
  for (let opened = 0; opened < spec.concurrency && performance.now() < deadline; ) {
    const batch = Math.min(spec.openBatch, spec.concurrency - opened);
    const before = rec.ttft.length;
    for (let i = 0; i < batch; i++) pending.push(exchange(pool, spec, rec, controllers));
    opened += batch;
    while (rec.ttft.length - before < batch && performance.now() < deadline && rec.failedTotal === 0) await sleep(5);
  }
  const open = rec.ttft.length;
  send({ type: 'window-start' });
  const t0 = performance.now();
  await sleep(spec.holdMs);
  const t1 = performance.now();
  send({ type: 'window-end' });
  rec.phase = 'after';
  for (const c of controllers) c.abort(new Error('bench: closing the idle stream'));
  await Promise.all(pending);
  rec.completed = open;
  return { windowMs: t1 - t0, open };
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const origins = spec.origins?.length ? spec.origins : [spec.origin];
  const pools = origins.map(
    (origin) =>
      new Pool(origin, {
        connections: Math.ceil(spec.concurrency / origins.length),
        pipelining: 1,
        // A stream idle for the whole hold must not be cut by the client's own timers.
        bodyTimeout: 0,
        headersTimeout: 60_000,
      }),
  );
  const rec = new Recorder();
  let windowMs: number;
  let open = 0;
  if (spec.mode === 'idle') ({ windowMs, open } = await idle(spec, pools[0] as Pool, rec));
  else windowMs = await closedLoop(spec, pools, rec);
  await Promise.all(pools.map((p) => p.close()));
  return {
    windowMs,
    completed: rec.completed,
    failed: rec.failed,
    failedTotal: rec.failedTotal,
    failures: [...rec.failures],
    tokens: rec.tokens,
    tokenBursts: rec.tokenBursts,
    latency: distribution(rec.latency.values()),
    ttft: distribution(rec.ttft.values()),
    gap: distribution(rec.gap.values()),
    openStreams: open,
    tokenCountMismatches: rec.tokenCountMismatches,
    tokenCountChecked: rec.tokenCountChecked,
  };
}

process.once('message', (message: ParentMessage) => {
  run(message.spec).then(
    (result) => {
      send({ type: 'result', result });
      process.disconnect?.();
    },
    (err: unknown) => {
      send({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
      process.disconnect?.();
    },
  );
});
