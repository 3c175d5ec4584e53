/**
 * @module process-main
 * The process: parse the environment once, start the gateway (and, outside production with no
 * VLLM_URL, the built-in vLLM simulator), and turn signals into a graceful drain. Loaded by main.ts
 * once it has checked the Node version.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig, type Config } from './config.js';
import { startGateway } from './server.js';

function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // not at this depth: running from source vs from dist/
    }
  }
  return 'unknown';
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vllm-gateway: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  let stopSimulator: (() => Promise<void>) | undefined;
  if (!config.vllmUrl) {
    const { startSimulator } = await import('../vllm/sim/index.js');
    const sim = startSimulator({ port: 0 });
    await sim.ready;
    stopSimulator = () => sim.close();
    process.stderr.write(
      `\n  *** VLLM_URL is not set: answers come from the built-in vLLM SIMULATOR at ${sim.url}, not from a model. ***\n` +
        `  *** Set VLLM_URL to a real vLLM server (and NODE_ENV=production) for real answers.              ***\n\n`,
    );
    config = Object.freeze({ ...config, vllmUrl: sim.url, vllmUrls: [sim.url] });
  }

  const gateway = await startGateway(config, { version: version() });
  const { logger } = gateway;
  if (config.allowAnonymous && !config.apiKeys && !config.apiKeysFile) logger.warn('ALLOW_ANONYMOUS=true: anyone who reaches this port can use the model');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void gateway
      .shutdown()
      .then(() => stopSimulator?.())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    gateway.reload().catch((err: Error) => logger.error({ err: err.message }, 'reload failed; keeping the previous keys and backends'));
  });
  // A promise nobody awaited failed (a background task): a defect to count and log, not a reason to drop
  // every client's answer by exiting. Request-path promises catch their own errors (issue 9).
  process.on('unhandledRejection', (reason) => {
    gateway.metrics.internalErrors.inc({ where: 'unhandled_rejection' });
    const err = reason instanceof Error ? { name: reason.name, message: reason.message, stack: reason.stack } : { message: String(reason) };
    logger.error({ err }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err: { name: err.name, message: err.message, stack: err.stack } }, 'uncaught exception');
    logger.flush();
    process.exit(1);
  });
}

void main().catch((err: unknown) => {
  process.stderr.write(`vllm-gateway: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
