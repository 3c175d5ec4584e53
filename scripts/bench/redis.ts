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

/**
 * Scripts Redis has run so far (EVAL and EVALSHA calls, INFO commandstats): the gateway's round trips to
 * the store (the commands a script runs inside are counted by Redis too, so total_commands_processed
 * would overstate them).
 */
export async function redisCommands(port: number): Promise<number> {
  const stats = await redisCommandStats(port);
  return Object.entries(stats).reduce((n, [name, calls]) => (name.startsWith('eval') ? n + calls : n), 0);
}

/** Calls per command since Redis started (INFO commandstats), e.g. { evalsha: 1200, ping: 3 }. */
export async function redisCommandStats(port: number): Promise<Record<string, number>> {
  const { stdout } = await run('redis-cli', ['-p', String(port), 'info', 'commandstats']);
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1] as string] = Number(m[2]);
  return out;
}
