/**
 * @module soak/run
 * `npm run soak [-- --minutes N | --short] [--concurrency N] [--seed N] [--out PREFIX] [--keep-tmp]`: the
 * soak of issue 11, "nothing lost, nothing leaked". Two gateway replicas (children of the built gateway)
 * share one redis-server and three simulators; 16 clients send mixed traffic for --minutes (default 10;
 * --short is 1); half-way the second simulator is SIGKILLed and started again on the same host:port.
 * Then it checks memory (RSS, heap after GC, descriptors) flat after warm-up, gauges back to 0, no 5xx
 * the kill does not explain, the gateway's tokens equal the simulators', one log line per request, and
 * writes bench/results/soak/latest.{md,json,svg} (--short: short.*). Exit 1 when a check fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sleep, type Managed } from '../bench/processes.js';
import { renderMemoryChart } from './chart-svg.js';
import { getText, promSum, readLedger, readRequestLines, simStats, type SimStatsBody } from './collect.js';
import { evaluate } from './evaluate.js';
import { freePortOn, sigkill, startRedis, startReplica, startSim, type Replica, type SimLife, type SimSpec, type SoakKey } from './fleet.js';
import { runLoad, type ClientRecord } from './load.js';
import { sampleMemory, type MemorySample } from './memory.js';
import { renderMarkdown } from './report-md.js';
import type { GaugeReading } from './results.js';

const log = (line: string): void => void process.stderr.write(`[soak] ${line}\n`);

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dist'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the repository root (package.json beside dist/); run `npm run build` first');
}

function git(root: string): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'gateway', 'vllm/sim', 'scripts/soak'], { cwd: root, encoding: 'utf8' });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

export const KEYS: readonly SoakKey[] = [
  { name: 'soak-open', key: 'sk-soak-open-0001', share: 0.8 },
  { name: 'soak-rpm', key: 'sk-soak-rpm-0002', rpm: 30, share: 0.1 },
  { name: 'soak-tpm', key: 'sk-soak-tpm-0003', tpm: 3000, share: 0.1 },
];

const SIMS: readonly Omit<SimSpec, 'port'>[] = [
  { name: 'sim1', host: '127.0.0.2', itlMs: 8, ttftMs: 30 },
  { name: 'sim2', host: '127.0.0.3', itlMs: 10, ttftMs: 40 },
  { name: 'sim3', host: '127.0.0.4', itlMs: 12, ttftMs: 50 },
];
const VICTIM = 1;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      short: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '16' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'keep-tmp': { type: 'boolean', default: false },
    },
  });
  const minutes = Number(values.minutes ?? (values.short ? '1' : '10'));
  const concurrency = Number(values.concurrency);
  if (!(minutes > 0) || !(concurrency >= 1)) throw new Error('--minutes and --concurrency must be positive numbers');
  const seed = Number(values.seed ?? Math.floor(Math.random() * 1e9));
  const durationMs = minutes * 60_000;
  // Warm-up: a tenth of the run, at most a minute; samples every run/60, at least every 3 s.
  const warmupS = Math.min(60, Math.max(10, minutes * 6));
  const sampleEveryS = Math.max(3, Math.round(minutes * 60 / 60));
  const root = repoRoot();
  const outPrefix = join(root, values.out ?? join('bench', 'results', 'soak', values.short || minutes < 5 ? 'short' : 'latest'));
  const tmp = mkdtempSync(join(tmpdir(), 'soak-'));
  log(`${minutes} min, concurrency ${concurrency}, seed ${seed}, warm-up ${warmupS} s, a sample every ${sampleEveryS} s; processes and logs in ${tmp}`);

  const procs: Managed[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
  };
  try {
    const redis = await startRedis(tmp);
    procs.push(redis.proc);
    const specs: SimSpec[] = [];
    const lives: SimLife[] = [];
    for (const s of SIMS) {
      const spec = { ...s, port: await freePortOn(s.host) };
      specs.push(spec);
      const life = await startSim(root, tmp, spec, 1);
      lives.push(life);
      procs.push(life.proc);
    }
    const vllmUrls = specs.map((s) => `http://${s.host}:${s.port}`);
    const replicas: Replica[] = [];
    for (const name of ['gw1', 'gw2']) {
      const r = await startReplica(root, tmp, name, { vllmUrls, redisUrl: redis.url, keys: KEYS });
      replicas.push(r);
      procs.push(r.proc);
    }
    log(`up: redis ${redis.url}, simulators ${vllmUrls.join(' ')}, replicas ${replicas.map((r) => r.origin).join(' ')}`);

    const t0 = performance.now();
    const since = (): number => performance.now() - t0;
    const records: ClientRecord[] = [];
    const samples = new Map<string, MemorySample[]>(replicas.map((r) => [r.name, []]));
    let loadDone = false;

    const sampling = (async () => {
      for (let n = 0; !loadDone; n++) {
        const at = t0 + n * sampleEveryS * 1000;
        // In short steps, so the end of the load is not kept waiting for the next sample.
        while (!loadDone && performance.now() < at) await sleep(Math.min(250, at - performance.now()));
        if (loadDone) break;
        for (const r of replicas) samples.get(r.name)?.push(await sampleMemory(r.proc.pid, r.memPath, since() / 1000));
      }
    })();

    const victimSpec = specs[VICTIM] as SimSpec;
    const victimOrigin = `http://${victimSpec.host}:${victimSpec.port}`;
    const downMs = Math.min(10_000, Math.max(4_000, durationMs / 60));
    const killing = (async () => {
      await sleep(durationMs / 2);
      const snapshot = await simStats(victimOrigin);
      const atMs = since();
      await sigkill((lives[VICTIM] as SimLife).proc);
      log(`t+${(atMs / 1000).toFixed(1)}s: SIGKILLed ${victimSpec.name} (${victimSpec.host}:${victimSpec.port}); ${records.length} requests so far`);
      await sleep(downMs);
      const life2 = await startSim(root, tmp, victimSpec, 2);
      lives.push(life2);
      procs.push(life2.proc);
      const restartedMs = since();
      log(`t+${(restartedMs / 1000).toFixed(1)}s: ${victimSpec.name} restarted on the same host:port`);
      return { atMs, restartedMs, snapshot };
    })();

    const progress = setInterval(() => log(`t+${Math.round(since() / 1000)}s: ${records.length} requests`), 30_000);
    await runLoad(
      { targets: replicas.map((r) => ({ name: r.name, origin: r.origin })), keys: KEYS, concurrency, until: t0 + durationMs, t0, seed, abortShare: 0.1, itlMs: 8, ttftMs: 30 },
      (r) => records.push(r),
    );
    clearInterval(progress);
    loadDone = true;
    const loadEndedMs = since();
    const kill = await killing;
    await sampling;
    log(`load over at t+${(loadEndedMs / 1000).toFixed(1)}s: ${records.length} requests`);

    // Gauges back to 0: polled until all read 0 (15 s at most), then the counters are read.
    const gauges: GaugeReading[] = [];
    const metricsText = new Map<string, string>();
    for (const r of replicas) {
      let reading: GaugeReading;
      for (;;) {
        const text = await getText(`${r.origin}/metrics`);
        metricsText.set(r.name, text);
        const g = { inFlight: promSum(text, 'gateway_in_flight_requests'), queued: promSum(text, 'gateway_queued_requests'), backendInFlight: promSum(text, 'gateway_backend_in_flight') };
        const zero = g.inFlight === 0 && g.queued === 0 && g.backendInFlight === 0;
        reading = { replica: r.name, ...g, zeroAfterS: zero ? (since() - loadEndedMs) / 1000 : undefined };
        if (zero || since() - loadEndedMs > 15_000) break;
        await sleep(250);
      }
      gauges.push(reading);
    }
    await sleep(500);
    const tokens = { input: 0, output: 0 };
    for (const r of replicas) {
      const text = await getText(`${r.origin}/metrics`);
      metricsText.set(r.name, text);
      tokens.input += promSum(text, 'gateway_tokens_total', { type: 'input' }) || 0;
      tokens.output += promSum(text, 'gateway_tokens_total', { type: 'output' }) || 0;
    }
    const finalStats = new Map<SimLife, SimStatsBody>();
    const simulatorsBusy: Record<string, number> = {};
    const simGenerationTokensSum: Record<string, number> = {};
    for (const life of lives) {
      if (life.proc.child.exitCode !== null || life.proc.child.signalCode !== null) continue;
      const origin = `http://${life.spec.host}:${life.spec.port}`;
      finalStats.set(life, await simStats(origin));
      const text = await getText(`${origin}/metrics`);
      const label = `${life.spec.name} life ${life.life}`;
      simulatorsBusy[label] = promSum(text, 'vllm:num_requests_running') + promSum(text, 'vllm:num_requests_waiting');
      simGenerationTokensSum[label] = promSum(text, 'vllm:request_generation_tokens_sum');
    }
    const idle = new Map<string, MemorySample>();
    for (const r of replicas) idle.set(r.name, await sampleMemory(r.proc.pid, r.memPath, since() / 1000));

    // SIGTERM: each replica drains and flushes its buffered log lines before it exits.
    for (const r of replicas) await r.proc.stop();
    await stopAll();

    const results = evaluate({
      startedAt: new Date(Date.now() - since()).toISOString(),
      git: git(root),
      options: { minutes, concurrency, seed, warmupS, sampleEveryS, abortShare: 0.1 },
      keys: KEYS,
      specs,
      victim: victimSpec,
      kill,
      durationS: loadEndedMs / 1000,
      records,
      logs: replicas.flatMap((r) => readRequestLines(r.proc.logPath, r.name)),
      lives: lives.map((l) => ({ life: l, lines: readLedger(l.ledgerPath), finalStats: finalStats.get(l) })),
      tokens,
      gauges,
      simulatorsBusy,
      simGenerationTokensSum,
      memory: replicas.map((r) => ({ name: r.name, samples: samples.get(r.name) ?? [], idle: idle.get(r.name) })),
      prefix: `soak-${seed.toString(36)}-`,
    });
    mkdirSync(dirname(outPrefix), { recursive: true });
    writeFileSync(`${outPrefix}.json`, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(`${outPrefix}.svg`, renderMemoryChart(results));
    writeFileSync(`${outPrefix}.md`, renderMarkdown(results, `${outPrefix.split('/').at(-1) ?? 'latest'}.svg`));
    for (const c of results.checks) log(`${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
    log(`report: ${outPrefix}.md`);
    const failed = results.checks.filter((c) => !c.pass).length;
    if (!values['keep-tmp'] && failed === 0) rmSync(tmp, { recursive: true, force: true });
    else log(`processes' logs kept in ${tmp}`);
    return failed === 0 ? 0 : 1;
  } catch (err) {
    await stopAll();
    log(`processes' logs kept in ${tmp}`);
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
