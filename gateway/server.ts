/**
 * @module server
 * Builds everything a running gateway needs from a Config, starts the HTTP server, and knows how to
 * drain and stop. `main.ts` wraps it in a process; tests call it directly with their own config.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { DestinationStream } from 'pino';
import { Admission } from './admission.js';
import { createApp } from './app.js';
import { KeyRegistry, loadKeys } from './auth/keys.js';
import type { Config } from './config.js';
import type { GatewayDeps } from './deps.js';
import { Lifecycle } from './lifecycle.js';
import { LatencyWindow } from './observability/latency-window.js';
import { createLogger } from './observability/logger.js';
import { GatewayMetrics } from './observability/metrics.js';
import { SseKeepalive } from './proxy/sse-keepalive.js';
import { createRateLimitStore } from './rate-limit/index.js';
import { parseChatRequest, parseCompletionRequest } from './schemas/index.js';
import { createUpstreamPool } from './upstream/pool.js';
import { Readiness } from './upstream/readiness.js';

export interface GatewayOptions {
  /** Tests capture log lines through this stream. */
  logDestination?: DestinationStream;
  version?: string;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  deps: GatewayDeps;
  /** Stop accepting, finish or abort in-flight requests (SHUTDOWN_GRACE_MS), then release everything. */
  shutdown(): Promise<void>;
  /** Re-reads API_KEYS / API_KEYS_FILE (SIGHUP). */
  reloadKeys(): Promise<void>;
}

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, destination: options.logDestination });
  if (!config.vllmUrl) throw new Error('startGateway needs config.vllmUrl; main.ts starts the simulator when it is unset');

  let registry: KeyRegistry | undefined;
  const reloadKeys = async () => {
    const entries = await loadKeys({ API_KEYS: config.apiKeys, API_KEYS_FILE: config.apiKeysFile });
    registry = entries.length > 0 ? new KeyRegistry(entries) : undefined;
    logger.info({ keys: entries.length }, registry ? 'API keys loaded' : 'no API keys configured: serving without authentication');
  };
  await reloadKeys();
  if (!registry && !config.allowAnonymous && config.vllmUrl && (config.apiKeys || config.apiKeysFile)) {
    throw new Error('API key list is empty; refusing to serve without authentication (set ALLOW_ANONYMOUS=true to allow it)');
  }

  const pool = createUpstreamPool(config, config.vllmUrl);
  const admission = new Admission(config.admission);
  const metrics = new GatewayMetrics({ inFlight: () => admission.inFlight, queued: () => admission.queued });
  const readiness = new Readiness({
    pool,
    apiKey: config.vllmApiKey,
    onChange: (state, reason) => {
      metrics.upstreamReady.set(state === 'ready' ? 1 : 0);
      logger.info({ upstream: state, reason }, `vLLM is ${state}`);
    },
  });
  metrics.upstreamReady.set(0);
  const lifecycle = new Lifecycle();
  const deps: GatewayDeps = {
    config,
    version: options.version ?? '0.0.0',
    startedAt: Date.now(),
    logger,
    metrics,
    latency: new LatencyWindow(),
    pool,
    readiness,
    admission,
    rateLimits: createRateLimitStore(config, { logger, registry: metrics.registry }),
    keys: () => registry,
    lifecycle,
    keepalive: config.sseKeepaliveMs > 0 ? new SseKeepalive(config.sseKeepaliveMs) : undefined,
  };

  // requestTimeout bounds how long a client may take to send its request (slow-loris), not the answer.
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000, headersTimeout: 30_000 });
  const drain = () =>
    lifecycle.drain(config.shutdownGraceMs, () => {
      logger.info({ inflight: lifecycle.inflight, graceMs: config.shutdownGraceMs }, 'draining: no new requests');
      server.close();
      server.closeIdleConnections();
    });
  const app = createApp(deps, drain);
  // zod compiles a schema on its first use (~6 ms); pay that at start, not on the first client's request.
  parseChatRequest({ messages: [{ role: 'user', content: 'warm-up' }] });
  parseCompletionRequest({ prompt: 'warm-up' });
  server.on('request', getRequestListener(app.fetch, { overrideGlobalObjects: false }));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  readiness.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  logger.info({ port, host: config.host, upstream: config.vllmUrl }, 'gateway listening');

  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    (stopped ??= (async () => {
      await drain();
      readiness.stop();
      server.closeAllConnections();
      await pool.close().catch(() => undefined);
      logger.info('gateway stopped');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })());

  return { url: `http://${host}:${port}`, port, server, deps, shutdown, reloadKeys };
}
