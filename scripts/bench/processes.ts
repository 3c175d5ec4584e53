/**
 * @module bench/processes
 * Starting, pinning and stopping the benchmark's processes. Each proxy runs pinned to one core and the
 * simulator and load client to the other (`taskset`, util-linux), so a proxy's CPU is never lent to the
 * upstream or the client and the two sides cannot steal each other's time slices. Every process is
 * stopped by its own pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';

export interface Placement {
  /** Core for the proxy under test; undefined = not pinned. */
  proxyCpu: number | undefined;
  /** Core for the simulator, the load client and the benchmark's own process. */
  upstreamCpu: number | undefined;
  /** One sentence for the report. */
  description: string;
}

export function choosePlacement(): Placement {
  const cores = availableParallelism();
  const taskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  if (cores >= 2 && taskset) {
    return {
      proxyCpu: 0,
      upstreamCpu: 1,
      description: `${cores} cores; each proxy pinned to core 0, the simulator, the load client and the benchmark driver to core 1 (taskset)`,
    };
  }
  const why = taskset ? `only ${cores} core` : 'taskset (util-linux) is not installed';
  return { proxyCpu: undefined, upstreamCpu: undefined, description: `not pinned: ${why}; proxy and upstream share the cores` };
}

/** Pins an already running process (all its threads) to one core. */
export function pin(pid: number, cpu: number | undefined): void {
  if (cpu === undefined) return;
  spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

export interface Managed {
  name: string;
  pid: number;
  child: ChildProcess;
  logPath: string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cpu: number | undefined;
  logPath: string;
  /** Signal for a graceful stop (nginx: SIGQUIT waits for open connections, SIGTERM does not). */
  stopSignal?: NodeJS.Signals;
}

/** Spawns a process pinned from birth (`taskset -c N command ...`), its output to a log file. */
export function startProcess(o: SpawnOptions): Managed {
  const fd = openSync(o.logPath, 'a');
  const [command, args] = o.cpu === undefined ? [o.command, o.args] : ['taskset', ['-c', String(o.cpu), o.command, ...o.args]];
  const child = spawn(command, args, { env: o.env ?? process.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${o.name}: could not start ${o.command}`);
  const pid = child.pid;
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(o.stopSignal ?? 'SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };
  return { name: o.name, pid, child, logPath: o.logPath, exited, stop };
}

/** A port that was free a moment ago (bound to 0 and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, died?: Promise<string>): Promise<void> {
  let dead: string | undefined;
  void died?.then((code) => (dead = code));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (dead !== undefined) throw new Error(`${what}: the process exited (${dead}) before it was ready`);
    try {
      if (await check()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(100);
  }
}
