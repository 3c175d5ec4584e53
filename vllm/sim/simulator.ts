/**
 * @module sim/simulator
 * One simulator instance and its lifecycle (vllm.md 1.1): the port refuses connections while the model
 * "loads" (loadMs), then listens; /health is 200 while the engine lives. killEngine() fails the requests
 * in flight the way vLLM does, turns /health to 503 and, after deathExitMs, closes the server so the
 * port refuses connections again, as a real vLLM process exits.
 */
import type { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { SimContext } from './context.js';
import { resolveOptions, type SimulatorOptions } from './options.js';
import { probeFreePort } from './probe-port.js';
import type { SimRequestRecord, SimStats } from './records.js';
import { createRequestHandler } from './server.js';

export interface Simulator {
  /** "http://127.0.0.1:PORT" (a wildcard host is reached through loopback). */
  readonly url: string;
  readonly port: number;
  /** Resolves when the port is listening (after loadMs). */
  readonly ready: Promise<void>;
  /** Inference requests, the last 1000. */
  readonly requests: SimRequestRecord[];
  /** 'request-start' and 'request-end' with the record; 'engine-dead' on killEngine(); 'closed' once the server is closed. */
  readonly events: EventEmitter;
  running(): number;
  waiting(): number;
  /** vllm:kv_cache_usage_perc now: a fraction 0..1 of the KV blocks that running requests hold. */
  kvCacheUsage(): number;
  /**
   * Totals since start, by outcome: completed (answer sent in full) with their prompt and completion
   * tokens, aborted by the client (with the tokens generated before), failed. Also at GET /sim/stats.
   */
  stats(): SimStats;
  /** Empties the prefix cache, like vLLM's dev-mode /reset_prefix_cache. */
  resetPrefixCache(): void;
  /** Engine death: in-flight requests fail, /health → 503, after deathExitMs the server closes. */
  killEngine(): void;
  /** Stops at once, destroying open sockets (open streams end without [DONE]). */
  close(): Promise<void>;
}

/** vLLM's uvicorn closes idle keep-alive connections after VLLM_HTTP_TIMEOUT_KEEP_ALIVE = 5 s (vllm.md 1.3). */
const KEEP_ALIVE_MS = 5_000;

export function startSimulator(options: SimulatorOptions = {}): Simulator {
  const config = resolveOptions(options);
  const listenHost = config.host === 'localhost' ? '127.0.0.1' : config.host;
  const port = config.port === 0 ? probeFreePort(listenHost) : config.port;
  const ctx = new SimContext(config);
  const sockets = new Set<Socket>();
  const server: Server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0 }, createRequestHandler(ctx));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  let loadTimer: NodeJS.Timeout | undefined;
  let deathTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  let rejectReady: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    rejectReady = reject;
    const listen = (): void => {
      loadTimer = undefined;
      server.once('error', reject);
      server.listen(port, listenHost, () => {
        server.off('error', reject);
        if (closing) {
          // close() came while the listen was under way: stop listening again.
          server.close();
          reject(new Error('simulator closed before it was ready'));
          return;
        }
        resolve();
      });
    };
    // vllm.md 1.1: nothing listens while the model loads, so clients get ECONNREFUSED, not a 503.
    if (config.loadMs > 0) loadTimer = setTimeout(listen, config.loadMs);
    else listen();
  });
  // A caller that never awaits `ready` must not crash the process on EADDRINUSE.
  ready.catch(() => undefined);

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      if (loadTimer) {
        clearTimeout(loadTimer);
        rejectReady(new Error('simulator closed before it was ready'));
      }
      if (deathTimer) clearTimeout(deathTimer);
      for (const socket of sockets) socket.destroy();
      if (!server.listening) {
        ctx.log.events.emit('closed');
        resolve();
        return;
      }
      server.close(() => {
        ctx.log.events.emit('closed');
        resolve();
      });
      server.closeAllConnections();
    });
    return closing;
  };

  const urlHost = listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost === '::' ? '::1' : listenHost;
  return {
    url: `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`,
    port,
    ready,
    requests: ctx.log.records,
    events: ctx.log.events,
    running: () => ctx.scheduler.running,
    waiting: () => ctx.scheduler.waiting,
    kvCacheUsage: () => ctx.kvCacheUsage(),
    stats: () => ctx.log.stats(),
    resetPrefixCache: () => ctx.prefixCache.reset(),
    killEngine(): void {
      if (ctx.engineDead) return;
      ctx.engineDead = true;
      for (const run of [...ctx.active]) run.engineDied();
      ctx.log.events.emit('engine-dead');
      // vllm.md 1.1: the watchdog sees the dead engine and the process exits a few seconds later.
      deathTimer = setTimeout(() => void close(), config.deathExitMs);
    },
    close,
  };
}
