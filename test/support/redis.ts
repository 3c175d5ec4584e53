/**
 * A real redis-server (Debian's package) as a child process per test file, on a free 127.0.0.1 port,
 * with no persistence, that tests can kill (SIGKILL), restart on the same port, freeze (SIGSTOP) and
 * thaw (SIGCONT). Assertions read it through their own ioredis client. Tests with Redis never skip in CI (CI=true): a missing redis-server fails them there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { describe } from 'vitest';

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export function redisServerInstalled(): boolean {
  return spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `describe` for tests that need redis-server: skipped (with a note) on a developer machine without it,
 * run (and failing in startRedis) in CI.
 */
export function describeWithRedis(name: string, fn: () => void): void {
  if (redisServerInstalled() || process.env.CI === 'true') {
    describe(name, fn);
  } else {
    console.warn(`redis-server not found: skipping "${name}" (apt-get install -y redis-server; CI never skips)`);
    describe.skip(name, fn);
  }
}

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:<port> (with the password when one was set). */
  url: string;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** Starts again on the same port (empty: no persistence). */
  restart(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function spawnRedis(port: number, password: string | undefined): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'];
  if (password) args.push('--requirepass', password);
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on ${port} not ready within 10 s: ${out.slice(-500)}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${REDIS_SERVER} (apt-get install -y redis-server): ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on ${port} exited (${code}) before ready: ${out.slice(-500)}`));
    });
  });
}

export async function startRedis(options: { password?: string } = {}): Promise<RedisServer> {
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; !child; attempt++) {
    port = await freePort();
    try {
      child = await spawnRedis(port, options.password);
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
  const exited = (c: ChildProcess) =>
    new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  const server: RedisServer = {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    async kill() {
      if (!child) return;
      const c = child;
      child = undefined;
      c.kill('SIGCONT');
      c.kill('SIGKILL');
      await exited(c);
    },
    async restart() {
      await server.kill();
      child = await spawnRedis(port, options.password);
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    close: () => server.kill(),
  };
  return server;
}
