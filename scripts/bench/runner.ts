/**
 * @module bench/runner
 * Runs a plan: for each scenario, a fresh simulator and fresh targets, an unmeasured warm-up per target,
 * then the repeats with the targets interleaved (order rotated each repeat). A target that cannot run
 * here (nginx not installed, npm unreachable for Portkey) is skipped with its reason; everything else
 * that goes wrong stops the run.
 */
import { renameSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WindowMeasurement } from './measure.js';
import { measureWindow } from './measure.js';
import { loadSpec, rotation, type RunPlan, type Scenario } from './plan.js';
import type { Placement } from './processes.js';
import type { TargetInfo } from './results.js';
import { startSim } from './simulator.js';
import { startTarget, TARGET_LABELS, TargetUnavailable, type RunningTarget, type TargetId } from './targets.js';

export interface RunnerOptions {
  root: string;
  tmp: string;
  plan: RunPlan;
  placement: Placement;
  log: (line: string) => void;
  /** Profile mode: targets that support it run under `node --cpu-prof`; profiles land here as <scenario>-<target>.cpuprofile. */
  cpuProfDir?: string;
  gatewayNodeOptions?: string;
  /** Environment overrides for the gateway only (e.g. LOG_LEVEL=warn), to price one feature at a time. */
  gatewayEnv?: Record<string, string>;
}

export interface RunnerOutput {
  windows: WindowMeasurement[];
  targets: TargetInfo[];
  /** Profile mode: the .cpuprofile files written, by scenario and target. */
  profiles: { scenario: string; target: TargetId; file: string }[];
}

const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(v >= 100 ? 0 : 2) : '–');

function describe(m: WindowMeasurement): string {
  const seconds = m.load.windowMs / 1000;
  const parts: string[] = [];
  if (m.mode === 'idle') {
    parts.push(`${m.load.openStreams} streams open`, `RSS ${f1(m.rssMb.proxy ?? Number.NaN)} MB`, `${m.upstreamLeftRunning ?? '?'} left running upstream`);
  } else {
    parts.push(`${f1(m.load.completed / seconds)} req/s`, `p50 ${f1(m.load.latency.p50)} ms`);
    if (m.load.tokens > 0) parts.push(`TTFT p50 ${f1(m.load.ttft.p50)} ms`, `gap p99 ${f1(m.load.gap.p99)} ms`, `${f1(m.load.tokens / Math.max(1, m.load.tokenBursts))} tok/burst`);
    if (m.cpuMs.proxy !== undefined) {
      parts.push(`CPU ${f1(m.cpuMs.proxy / Math.max(1, m.load.completed))} ms/req`);
      if (m.load.tokens > 0) parts.push(`${f1((m.cpuMs.proxy / m.load.tokens) * 1000)} ms/1k tok`);
    }
  }
  parts.push(`sim ${f1(m.cpuMs.sim / Math.max(1, m.load.completed))} ms/req`, `other CPU ${f1((m.otherCpuMs / m.wallMs) * 100)}%`);
  if (m.load.failed > 0) parts.push(`FAILED ${m.load.failed} (${m.load.failures.join('; ')})`);
  return parts.join(', ');
}

async function startTargets(o: RunnerOptions, s: Scenario, simOrigin: string, simPort: number, info: Map<TargetId, TargetInfo>): Promise<RunningTarget[]> {
  const running: RunningTarget[] = [];
  for (const id of o.plan.targets) {
    const known = info.get(id);
    if (known?.skipped) continue;
    const ctx = {
      root: o.root,
      tmp: o.tmp,
      simOrigin,
      simPort,
      concurrency: s.concurrency,
      placement: o.placement,
      log: o.log,
      ...(o.cpuProfDir ? { cpuProfDir: join(o.cpuProfDir, 'raw', s.id) } : {}),
      ...(o.gatewayNodeOptions ? { gatewayNodeOptions: o.gatewayNodeOptions } : {}),
      ...(o.gatewayEnv ? { gatewayEnv: o.gatewayEnv } : {}),
    };
    try {
      const t = await startTarget(id, ctx);
      running.push(t);
      info.set(id, { id, label: TARGET_LABELS[id], version: t.version });
    } catch (err) {
      if (!(err instanceof TargetUnavailable)) {
        for (const t of running) await t.stop();
        throw err;
      }
      o.log(`skipping ${id}: ${err.message}`);
      info.set(id, { id, label: TARGET_LABELS[id], version: '', skipped: err.message });
    }
  }
  return running;
}

/** Moves each profile a target wrote under raw/<scenario>/<target>/ to <scenario>-<target>.cpuprofile. */
function collectProfiles(dir: string, scenario: string, out: RunnerOutput['profiles']): void {
  const base = join(dir, 'raw', scenario);
  for (const target of readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const files = readdirSync(join(base, target.name)).filter((f) => f.endsWith('.cpuprofile'));
    const last = files.sort().at(-1);
    if (!last) continue;
    const file = join(dir, `${scenario}-${target.name}.cpuprofile`);
    renameSync(join(base, target.name, last), file);
    out.push({ scenario, target: target.name as TargetId, file });
  }
}

export async function runPlan(o: RunnerOptions): Promise<RunnerOutput> {
  const out: RunnerOutput = { windows: [], targets: [], profiles: [] };
  const info = new Map<TargetId, TargetInfo>();
  for (const s of o.plan.scenarios) {
    o.log(`scenario ${s.id}: ${s.label}`);
    if (o.cpuProfDir) mkdirSync(join(o.cpuProfDir, 'raw', s.id), { recursive: true });
    const sim = await startSim(o.root, o.tmp, s, o.placement.upstreamCpu);
    let running: RunningTarget[] = [];
    try {
      running = await startTargets(o, s, sim.origin, sim.port, info);
      const procs = (t: RunningTarget) => ({ proxyPid: t.pid, simPids: [sim.proc.pid], simOrigin: sim.origin, upstreamCpu: o.placement.upstreamCpu });
      // Unmeasured: JIT, pools and caches settle before any window counts. Not for idle streams: their
      // figure is memory, and the first repeat should show what a fresh process needs.
      for (const t of s.mode === 'idle' ? [] : running) {
        const warm = { warmupMs: o.plan.targetWarmMs, windowMs: 200 };
        await measureWindow(loadSpec(o.plan, s, t.origin, t.headers, warm), procs(t), { scenario: s.id, target: t.id, repeat: -1 });
      }
      for (let r = 0; r < o.plan.repeats; r++) {
        for (const t of rotation(running, r)) {
          const m = await measureWindow(loadSpec(o.plan, s, t.origin, t.headers), procs(t), { scenario: s.id, target: t.id, repeat: r });
          out.windows.push(m);
          o.log(`  [${s.id} #${r + 1}] ${t.id}: ${describe(m)}`);
        }
      }
    } finally {
      for (const t of running) await t.stop();
      await sim.proc.stop();
    }
    if (o.cpuProfDir) collectProfiles(o.cpuProfDir, s.id, out.profiles);
  }
  out.targets = o.plan.targets.map((id) => info.get(id) ?? { id, label: TARGET_LABELS[id], version: '', skipped: 'not started' });
  return out;
}
