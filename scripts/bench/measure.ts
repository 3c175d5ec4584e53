/**
 * @module bench/measure
 * One measured window: fork a fresh load client (pinned to the upstream core), and read /proc for the
 * proxy's process tree, the simulator and the client at the moment the client says the window starts and
 * again when it ends. The IPC hop costs the same at both ends, so it cancels out of the deltas.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientMessage, LoadResult, LoadSpec, ParentMessage } from './load-protocol.js';
import { sleep } from './processes.js';
import { machineBusyMs, processTree, sampleTree, type TreeSample } from './proc-stat.js';
import { simRequestsInFlight } from './simulator.js';

export interface WindowMeasurement {
  scenario: string;
  target: string;
  repeat: number;
  mode: LoadSpec['mode'];
  load: LoadResult;
  /** Parent's clock between the two /proc readings. */
  wallMs: number;
  /** CPU used inside the window, ms, per process group. The proxy is absent for direct. */
  cpuMs: { proxy: number | undefined; sim: number; client: number };
  /** CPU inside the window of further processes named by the caller (e.g. redis), ms. */
  extraCpuMs?: Record<string, number>;
  /**
   * CPU the whole machine spent in the window, ms over all cores, less the proxy, the simulator and the
   * client: the benchmark driver, the kernel's share of loopback traffic, and anything else running.
   */
  otherCpuMs: number;
  /** RSS at the end of the window, MB. */
  rssMb: { proxy: number | undefined; sim: number };
  /** Idle scenario: the proxy's RSS before the streams opened and after they closed, MB. */
  proxyRssBeforeMb?: number;
  proxyRssAfterMb?: number;
  /**
   * Idle scenario: streams still running in the simulator 1 s after the client aborted its streams
   * (beyond those running before the window). A proxy that cancels upstream on disconnect leaves 0.
   */
  upstreamLeftRunning?: number;
}

export interface WindowProcesses {
  proxyPid: number | undefined;
  /** The simulators in use (several backends: all of them, summed as "sim"). */
  simPids: number[];
  simOrigin: string;
  upstreamCpu: number | undefined;
  /** Further processes whose CPU is read at the same moments, by name (e.g. `{ redis: [pid] }`). */
  extraPids?: Record<string, number[]>;
  /** Called right after the readings at window start and end (e.g. to scrape the backends' counters). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

const CLIENT = fileURLToPath(new URL('./load-client.js', import.meta.url));

/** Runs one load client to completion; readings are taken through the callbacks at window start and end. */
function runClient(spec: LoadSpec, upstreamCpu: number | undefined, onStart: (pid: number) => void, onEnd: () => void): Promise<LoadResult> {
  // Pinned from birth: taskset execs node, which keeps the IPC channel fork() opened.
  const pinned = upstreamCpu === undefined ? {} : { execPath: 'taskset', execArgv: ['-c', String(upstreamCpu), process.execPath] };
  const child = fork(CLIENT, [], { ...pinned, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: LoadResult | undefined;
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('load client did not finish within its time bound'));
    }, spec.warmupMs + spec.windowMs + spec.holdMs + spec.openTimeoutMs + 60_000);
    child.on('message', (message: ClientMessage) => {
      if (message.type === 'window-start') onStart(child.pid as number);
      else if (message.type === 'window-end') onEnd();
      else if (message.type === 'result') result = message.result;
      else reject(new Error(`load client failed: ${message.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timeout);
      if (result) resolve(result);
      else reject(new Error(`load client exited (${code}) without a result`));
    });
    const start: ParentMessage = { type: 'spec', spec };
    child.send(start);
  });
}

export async function measureWindow(spec: LoadSpec, p: WindowProcesses, ids: { scenario: string; target: string; repeat: number }): Promise<WindowMeasurement> {
  const proxyPids = p.proxyPid === undefined ? undefined : processTree(p.proxyPid);
  const rssBefore = proxyPids ? sampleTree(proxyPids).rssMb : undefined;
  const inFlightBefore = spec.mode === 'idle' ? await simRequestsInFlight(p.simOrigin) : 0;
  let clientPid = 0;
  let t0 = 0;
  let t1 = 0;
  type Reading = { machine: number; proxy?: TreeSample; sim: TreeSample; client: TreeSample; extra: Record<string, TreeSample> };
  let before: Reading | undefined;
  let after: Reading | undefined;
  const read = () => ({
    machine: machineBusyMs(),
    ...(proxyPids ? { proxy: sampleTree(proxyPids) } : {}),
    sim: sampleTree(p.simPids),
    client: sampleTree([clientPid]),
    extra: Object.fromEntries(Object.entries(p.extraPids ?? {}).map(([name, pids]) => [name, sampleTree(pids)])),
  });
  const load = await runClient(
    spec,
    p.upstreamCpu,
    (pid) => {
      clientPid = pid;
      t0 = performance.now();
      before = read();
      p.onWindowStart?.();
    },
    () => {
      t1 = performance.now();
      after = read();
      p.onWindowEnd?.();
    },
  );
  if (!before || !after) throw new Error('load client finished without a measured window');
  const m: WindowMeasurement = {
    ...ids,
    mode: spec.mode,
    load,
    wallMs: t1 - t0,
    cpuMs: {
      proxy: before.proxy && after.proxy ? after.proxy.cpuMs - before.proxy.cpuMs : undefined,
      sim: after.sim.cpuMs - before.sim.cpuMs,
      client: after.client.cpuMs - before.client.cpuMs,
    },
    rssMb: { proxy: after.proxy?.rssMb, sim: after.sim.rssMb },
    otherCpuMs: 0,
  };
  const b = before;
  const extra = Object.entries(after.extra).map(([name, s]) => [name, s.cpuMs - (b.extra[name]?.cpuMs ?? s.cpuMs)] as const);
  if (extra.length > 0) m.extraCpuMs = Object.fromEntries(extra);
  m.otherCpuMs = after.machine - before.machine - (m.cpuMs.proxy ?? 0) - m.cpuMs.sim - m.cpuMs.client - extra.reduce((a, [, v]) => a + v, 0);
  if (spec.mode === 'idle') {
    // Give the proxy a moment to drop the closed streams before reading what memory it kept.
    await sleep(1_000);
    m.upstreamLeftRunning = (await simRequestsInFlight(p.simOrigin)) - inFlightBefore;
    if (proxyPids) {
      m.proxyRssBeforeMb = rssBefore;
      m.proxyRssAfterMb = sampleTree(proxyPids).rssMb;
    }
  }
  return m;
}
