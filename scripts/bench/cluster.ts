/**
 * @module bench/cluster
 * Runs the scenarios of issues 10-12 (cluster-plan.ts): for each, fresh simulators on 127.0.0.2, .3 ...
 * (pinned with the load client to the upstream core), a Redis when an arm needs one, and one process per
 * arm on the proxy core; an unmeasured warm-up per arm; then the repeats, arms interleaved, order rotated.
 * Besides issue 5's readings, each window records the backends' counters (prefix-cache queries and hits,
 * requests, from /metrics) and Redis's CPU and command count.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { armBody, armConcurrency, armDialect, armPath, type Arm, type ClusterScenario } from './cluster-plan.js';
import type { LoadSpec } from './load-protocol.js';
import { measureWindow, type WindowMeasurement } from './measure.js';
import { rotation, type RunPlan } from './plan.js';
import type { Placement } from './processes.js';
import { redisCommands, redisCommandStats, startRedis, type RunningRedis } from './redis.js';
import { simCounters, startSimInstance, type RunningSim, type SimCounters } from './simulator.js';
import { startTarget, TargetUnavailable, type RunningTarget } from './targets.js';

export interface ClusterOptions {
  root: string;
  tmp: string;
  plan: RunPlan;
  scenarios: ClusterScenario[];
  placement: Placement;
  log: (line: string) => void;
  gatewayNodeOptions?: string;
  gatewayEnv?: Record<string, string>;
}

export interface ClusterWindow extends WindowMeasurement {
  /** Counter deltas over the window, one per backend the arm used, in order. */
  backends: SimCounters[];
  /** Scripts (EVAL/EVALSHA) Redis ran inside the window (arms with the Redis store). */
  redisCommands?: number;
}

export interface ClusterOutput {
  windows: ClusterWindow[];
  /** Why an arm or scenario did not run, by `scenario/arm` (or `scenario`). */
  skipped: Record<string, string>;
  /** Versions of the extra pieces (Redis). */
  versions: string[];
  /** Per scenario with a Redis: its calls per command over the whole scenario (INFO commandstats). */
  redisCommandStats: Record<string, Record<string, number>>;
}

interface RunningArm {
  arm: Arm;
  target: RunningTarget | undefined;
  origins: string[];
}

const diff = (a: SimCounters, b: SimCounters): SimCounters => ({
  prefixQueries: b.prefixQueries - a.prefixQueries,
  prefixHits: b.prefixHits - a.prefixHits,
  generationTokens: b.generationTokens - a.generationTokens,
  requests: b.requests - a.requests,
});

async function startArm(o: ClusterOptions, s: ClusterScenario, arm: Arm, sims: RunningSim[], redis: RunningRedis | undefined): Promise<RunningArm> {
  const used = sims.slice(0, arm.backends);
  const origins = used.map((x) => x.origin);
  if (arm.kind === 'direct') return { arm, target: undefined, origins };
  const tmp = join(o.tmp, `${s.id}-${arm.id}`);
  mkdirSync(tmp, { recursive: true });
  const concurrency = armConcurrency(s, arm);
  const first = used[0] as RunningSim;
  const env: Record<string, string> = {
    ...o.gatewayEnv,
    VLLM_URL: origins.join(','),
    // Per backend: the backends' slots in the GPU-bound scenarios; else every request admitted at once.
    MAX_CONCURRENT_REQUESTS: String(arm.maxConcurrent ?? concurrency),
    MAX_QUEUE: String(concurrency),
    // The Responses API stores what it answers; keep that in the run's scratch directory.
    DATA_DIR: join(tmp, 'data'),
    ...arm.env,
    ...(arm.redis && redis ? { REDIS_URL: redis.url } : {}),
  };
  const ctx = {
    root: o.root,
    tmp,
    simOrigin: first.origin,
    simPort: first.port,
    concurrency,
    placement: o.placement,
    log: o.log,
    ...(o.gatewayNodeOptions ? { gatewayNodeOptions: o.gatewayNodeOptions } : {}),
    gatewayEnv: env,
  };
  const target = await startTarget(arm.kind, ctx);
  return { arm, target, origins };
}

function spec(o: ClusterOptions, s: ClusterScenario, a: RunningArm, runId: string, override?: Partial<LoadSpec>): LoadSpec {
  const direct = a.target === undefined;
  return {
    origin: direct ? (a.origins[0] as string) : a.target!.origin,
    ...(direct ? { origins: a.origins } : {}),
    path: armPath(a.arm),
    headers: { 'content-type': 'application/json', ...(a.target?.headers ?? {}) },
    body: armBody(s, a.arm),
    stream: s.stream,
    concurrency: armConcurrency(s, a.arm),
    mode: 'closed-loop',
    warmupMs: Math.max(o.plan.warmupMs, s.warmupMs ?? 0),
    windowMs: o.plan.windowMs,
    holdMs: 0,
    openTimeoutMs: 20_000,
    openBatch: 100,
    dialect: armDialect(a.arm),
    ...(s.conversation ? { conversation: { ...s.conversation, runId } } : {}),
    ...override,
  };
}

const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(v >= 100 ? 0 : d) : '–');

function describe(s: ClusterScenario, w: ClusterWindow): string {
  const seconds = w.load.windowMs / 1000;
  const parts = [`${f(w.load.completed / seconds)} req/s`, `p50 ${f(w.load.latency.p50)} / p99 ${f(w.load.latency.p99)} ms`];
  if (w.load.tokens > 0) parts.push(`TTFT p50 ${f(w.load.ttft.p50)} ms`, `gap p99 ${f(w.load.gap.p99)} ms`, `${f(w.load.tokens / Math.max(1, w.load.completed), 1)} tok/req`);
  if (w.cpuMs.proxy !== undefined) parts.push(`CPU ${f(w.cpuMs.proxy / Math.max(1, w.load.completed), 3)} ms/req`);
  const q = w.backends.reduce((a, b) => a + b.prefixQueries, 0);
  if (s.conversation && q > 0) parts.push(`prefix hits ${f((100 * w.backends.reduce((a, b) => a + b.prefixHits, 0)) / q, 0)}%`);
  if (w.backends.length > 1) parts.push(`per backend ${w.backends.map((b) => f(b.requests, 0)).join('/')} req`);
  if (w.extraCpuMs?.redis !== undefined) parts.push(`redis ${f(w.extraCpuMs.redis / Math.max(1, w.load.completed), 3)} ms/req, ${f((w.redisCommands ?? Number.NaN) / Math.max(1, w.load.completed), 1)} scripts/req`);
  parts.push(`other CPU ${f((w.otherCpuMs / w.wallMs) * 100, 0)}%`);
  if (w.load.failed > 0) parts.push(`FAILED ${w.load.failed} (${w.load.failures.join('; ')})`);
  return parts.join(', ');
}

async function measureArm(o: ClusterOptions, s: ClusterScenario, a: RunningArm, sims: RunningSim[], redis: RunningRedis | undefined, repeat: number, override?: Partial<LoadSpec>): Promise<ClusterWindow> {
  const used = sims.slice(0, a.arm.backends);
  let countersBefore: Promise<SimCounters[]> | undefined;
  let countersAfter: Promise<SimCounters[]> | undefined;
  let redisBefore: Promise<number> | undefined;
  let redisAfter: Promise<number> | undefined;
  const scrape = () => Promise.all(used.map((x) => simCounters(x.origin)));
  const withRedis = a.arm.redis && redis;
  const m = await measureWindow(
    spec(o, s, a, `${s.id}-${a.arm.id}-r${repeat}-${Date.now().toString(36)}`, override),
    {
      proxyPid: a.target?.pid,
      simPids: used.map((x) => x.proc.pid),
      simOrigin: (used[0] as RunningSim).origin,
      upstreamCpu: o.placement.upstreamCpu,
      ...(withRedis ? { extraPids: { redis: [redis.proc.pid] } } : {}),
      onWindowStart: () => {
        countersBefore = scrape();
        if (withRedis) redisBefore = redisCommands(redis.port);
      },
      onWindowEnd: () => {
        countersAfter = scrape();
        if (withRedis) redisAfter = redisCommands(redis.port);
      },
    },
    { scenario: s.id, target: a.arm.id, repeat },
  );
  const before = (await countersBefore) ?? [];
  const after = (await countersAfter) ?? [];
  const w: ClusterWindow = { ...m, backends: after.map((x, i) => diff(before[i] as SimCounters, x)) };
  if (redisBefore && redisAfter) w.redisCommands = (await redisAfter) - (await redisBefore);
  return w;
}

export async function runCluster(o: ClusterOptions): Promise<ClusterOutput> {
  const out: ClusterOutput = { windows: [], skipped: {}, versions: [], redisCommandStats: {} };
  for (const s of o.scenarios) {
    o.log(`scenario ${s.id}: ${s.label}`);
    const sims: RunningSim[] = [];
    let redis: RunningRedis | undefined;
    const running: RunningArm[] = [];
    try {
      for (const [i, sim] of s.sims.entries()) {
        sims.push(await startSimInstance(o.root, o.tmp, { ...sim, name: `${s.id}-${i}`, host: `127.0.0.${2 + i}` }, o.placement.upstreamCpu));
      }
      if (s.arms.some((a) => a.redis)) {
        try {
          redis = await startRedis(o.tmp, o.placement.upstreamCpu);
          if (!out.versions.includes(redis.version)) out.versions.push(redis.version);
        } catch (err) {
          if (!(err instanceof TargetUnavailable)) throw err;
          out.skipped[s.id] = err.message;
          o.log(`skipping the Redis arms of ${s.id}: ${err.message}`);
        }
      }
      for (const arm of s.arms) {
        if (arm.redis && !redis) continue;
        running.push(await startArm(o, s, arm, sims, redis));
      }
      for (const a of running) {
        await measureArm(o, s, a, sims, redis, -1, { warmupMs: o.plan.targetWarmMs, windowMs: 200 });
      }
      for (let r = 0; r < o.plan.repeats; r++) {
        for (const a of rotation(running, r)) {
          const w = await measureArm(o, s, a, sims, redis, r);
          out.windows.push(w);
          o.log(`  [${s.id} #${r + 1}] ${a.arm.id}: ${describe(s, w)}`);
        }
      }
      if (redis) out.redisCommandStats[s.id] = await redisCommandStats(redis.port);
    } finally {
      for (const a of running) await a.target?.stop();
      for (const sim of sims) await sim.proc.stop();
      await redis?.proc.stop();
    }
  }
  return out;
}
