/**
 * @module bench/redis
 * A throw-away Redis for issue 11's scenario: Debian's redis-server on a free loopback port, nothing
 * persisted, pinned like the simulator (it is an upstream service, not the proxy), stopped by its pid.
 */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startProcess, waitUntil, type Managed } from './processes.js';
import { TargetUnavailable } from './targets.js';

const run = promisify(execFile);

export interface RunningRedis {
  url: string;
  port: number;
  proc: Managed;
  version: string;
}

export async function startRedis(tmp: string, cpu: number | undefined): Promise<RunningRedis> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new TargetUnavailable('redis-server is not installed (apt-get install redis-server)');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp];
  const proc = startProcess({ name: 'redis', command: 'redis-server', args, cpu, logPath: join(tmp, 'redis.log') });
  await waitUntil(`redis (log: ${proc.logPath})`, async () => (await run('redis-cli', ['-p', String(port), 'ping'])).stdout.trim() === 'PONG', 10_000, proc.exited);
  const version = /v=(\S+)/.exec(probe.stdout)?.[1] ?? '?';
  return { url: `redis://127.0.0.1:${port}`, port, proc, version: `Redis ${version}` };
}

/** Commands Redis has processed so far (INFO stats total_commands_processed): shows the gateway used it. */
export async function redisCommands(port: number): Promise<number> {
  const { stdout } = await run('redis-cli', ['-p', String(port), 'info', 'stats']);
  const m = /total_commands_processed:(\d+)/.exec(stdout);
  return m ? Number(m[1]) : Number.NaN;
}
