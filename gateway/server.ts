/**
 * @module server
 * Builds everything a running gateway needs from a Config, starts the HTTP server, and knows how to
 * drain and stop. `main` wraps it in a process; tests call it directly with their own config.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { DestinationStream } from 'pino';
import { Admission, type SlotSource } from './admission.js';
import { createApp } from './app.js';
import { KeyRegistry, loadKeys } from './auth/keys.js';
import type { Backend } from './backends/backend.js';
import { startBackends } from './backends/index.js';
import type { BackendSet } from './backends/set.js';
import { CorsPolicy } from './call/cors.js';
import type { Config } from './config.js';
import { Lifecycle } from './lifecycle.js';
import { LatencyWindow } from './observability/latency-window.js';
import { createLogger, type Logger } from './observability/logger.js';
import { GatewayMetrics } from './observability/metrics.js';
import { KeyLimits } from './pipeline/limits.js';
import { TargetResolver } from './pipeline/target.js';
import { SseKeepalive } from './proxy/sse-keepalive.js';
import { createRateLimitStore } from './rate-limit/index.js';
import { CONVERSATION_PATHS, conversationRoutes } from './routes/conversations.js';
import { RESPONSE_STORE_PATHS, responseStoreRoutes } from './routes/responses-store.js';
import { parseChatRequest, parseCompletionRequest } from './schemas/index.js';
import { createStateStore } from './state/index.js';
import { anthropicSurfaces, messagesSurface } from './surfaces/anthropic.js';
import { responsesSurface } from './surfaces/openai-responses.js';
import { chatRouteSurface } from './surfaces/seed-chat.js';

export interface GatewayOptions {
  /** Tests capture log lines through this stream. */
  logDestination?: DestinationStream;
  version?: string;
  /** Tests inject a resolver for VLLM_DISCOVERY=dns. */
  resolve?: (host: string) => Promise<string[]>;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  logger: Logger;
  metrics: GatewayMetrics;
  backends: BackendSet;
  admission: Admission<Backend>;
  lifecycle: Lifecycle;
  /** Stop accepting, finish or abort in-flight requests (SHUTDOWN_GRACE_MS), then release everything. */
  shutdown(): Promise<void>;
  /** Re-reads API_KEYS / API_KEYS_FILE and VLLM_BACKENDS_FILE (SIGHUP). */
  reload(): Promise<void>;
  /** Resolves once a backend is ready (tests), false after `ms`. */
  waitReady(ms: number): Promise<boolean>;
}

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, destination: options.logDestination });
  if (config.vllmUrls.length === 0 && !config.backends.file) throw new Error('startGateway needs VLLM_URL or VLLM_BACKENDS_FILE; main starts the simulator when both are unset');

  let registry: KeyRegistry | undefined;
  const reloadKeys = async () => {
    const entries = await loadKeys({ API_KEYS: config.apiKeys, API_KEYS_FILE: config.apiKeysFile });
    registry = entries.length > 0 ? new KeyRegistry(entries) : undefined;
    logger.info({ keys: entries.length }, registry ? 'API keys loaded' : 'no API keys configured: serving without authentication');
  };
  await reloadKeys();
  if (!registry && !config.allowAnonymous && (config.apiKeys || config.apiKeysFile)) {
    throw new Error('API key list is empty; refusing to serve without authentication (set ALLOW_ANONYMOUS=true to allow it)');
  }

  const metrics = new GatewayMetrics({ inFlight: () => admission.inFlight, queued: () => admission.queued, anyReady: () => backends.anyReady });
  // Discovery → set → picker, probing and scraping from now on; a bad VLLM_BACKENDS_FILE stops the start
  // here, before anything listens.
  const upstream = await startBackends({ config, logger, registry: metrics.registry, ...(options.resolve ? { resolve: options.resolve } : {}) });
  const backends = upstream.set;
  const slots: SlotSource<Backend> = {
    withFreeSlot: (model) => backends.withFreeSlot(model),
    capacity: () => backends.all().reduce((n, b) => n + (b.usable ? b.maxConcurrent : 0), 0),
    onSlotFree: (listener) => void backends.onSlotFree(listener),
    onChange: (listener) => void backends.onChange(() => listener()),
  };
  const admission = new Admission<Backend>({ maxQueue: config.admission.maxQueue, queueTimeoutMs: config.admission.queueTimeoutMs }, slots);
  const rateLimits = createRateLimitStore(config, { logger, registry: metrics.registry });
  // Stored responses and conversations: SQLite in DATA_DIR (opened on first use), or Redis with REDIS_URL.
  const state = createStateStore(config);
  const responses = responsesSurface({
    store: state,
    models: () => ({ default: backends.defaultModel(), find: (name) => backends.models().find((m) => m.id === (config.modelAliases.get(name) ?? name)) }),
    onStoreError: (err, responseId) => {
      metrics.internalErrors.inc({ where: 'state_store' });
      logger.warn({ responseId, err: err instanceof Error ? err.name : 'error' }, 'a streamed response could not be stored');
    },
  });
  const lifecycle = new Lifecycle();
  const latency = new LatencyWindow();
  const startedAt = Date.now();
  const keepalive = config.sseKeepaliveMs > 0 ? new SseKeepalive(config.sseKeepaliveMs) : undefined;
  const timeouts = { firstByteMs: config.timeouts.firstByteMs, idleMs: config.timeouts.idleMs, requestMs: config.timeouts.requestMs };

  // requestTimeout bounds how long a client may take to send its request (slow-loris), not the answer.
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000, headersTimeout: 30_000 });
  // Draining keeps the listener open: after /pre-stop the process waits for the platform's SIGTERM.
  const drain = () =>
    lifecycle.drain(config.shutdownGraceMs, () => {
      logger.info({ inflight: lifecycle.inflight, graceMs: config.shutdownGraceMs }, 'draining: no new requests');
    });
  const app = createApp({
    config,
    logger,
    metrics,
    latency,
    cors: new CorsPolicy(config.corsOrigins),
    keys: () => registry,
    lifecycle,
    backends,
    drain,
    surfaces: [{ path: '/chat', surface: chatRouteSurface(state) }, { path: '/v1/responses', surface: responses }, ...anthropicSurfaces],
    extraRoutes: [
      { paths: CONVERSATION_PATHS, mount: (a) => void a.route('/', conversationRoutes(state, { maxBodyBytes: config.maxBodyBytes })) },
      { paths: RESPONSE_STORE_PATHS, mount: (a) => void a.route('/', responseStoreRoutes(state)) },
    ],
    inference: {
      config,
      lifecycle,
      targets: new TargetResolver(backends, { aliases: config.modelAliases, fallbacks: config.routing.fallbacks, readyWaitMs: config.readyWaitMs }),
      limits: new KeyLimits(rateLimits, config.rateLimit, logger, () => metrics.internalErrors.inc({ where: 'settle' })),
      admission,
      picker: upstream.picker,
      metrics,
      forward: { set: backends, admission, metrics, timeouts, failoverAttempts: config.routing.failoverAttempts, readyWaitMs: config.readyWaitMs, keepalive },
    },
    status: { version: options.version ?? '0.0.0', startedAt, config, backends, lifecycle, latency, admission, rateLimitStore: () => rateLimits.status() },
  });
  // zod compiles a schema on its first use (~6 ms); pay that at start, not on the first client's request.
  parseChatRequest({ messages: [{ role: 'user', content: 'warm-up' }] });
  parseCompletionRequest({ prompt: 'warm-up' });
  void Promise.resolve(messagesSurface.parse({ max_tokens: 1, messages: [{ role: 'user', content: 'warm-up' }] }, { owner: '-' })).catch(() => undefined);
  server.on('request', getRequestListener(app.fetch, { overrideGlobalObjects: false }));

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (err) {
    // The port is taken (or the like): nothing may keep probing the backends after the start failed.
    await upstream.stop().catch(() => undefined);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  logger.info({ port, host: config.host, backends: backends.all().map((b) => b.displayUrl), discovery: config.backends.discovery }, 'gateway listening');

  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    (stopped ??= (async () => {
      await drain();
      server.close();
      server.closeIdleConnections();
      server.closeAllConnections();
      await upstream.stop().catch(() => undefined);
      await rateLimits.close().catch(() => undefined);
      await Promise.resolve(state.close()).catch(() => undefined);
      logger.info('gateway stopped');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })());

  const reload = async () => {
    await reloadKeys();
    const result = await upstream.reload();
    if (!result.ok) logger.error({ err: result.error }, 'VLLM_BACKENDS_FILE reload failed; keeping the previous backends');
  };

  return {
    url: `http://${host}:${port}`,
    port,
    server,
    logger,
    metrics,
    backends,
    admission,
    lifecycle,
    shutdown,
    reload,
    waitReady: (ms) => backends.waitUsable(undefined, ms),
  };
}
