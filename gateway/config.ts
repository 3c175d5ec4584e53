/**
 * @module config
 * The gateway's whole configuration, parsed once from the environment by one zod schema into a frozen,
 * typed object that is passed down. No other module reads `process.env`; tests build configs with
 * `parseConfig({...})`. A bad value stops the process with a message naming the variable.
 */
import { z } from 'zod';
import { DEFAULT_PORT } from './routes/paths.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0),
);

const aliases = z.string().transform((s, ctx) => {
  const map = new Map<string, string>();
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const from = part.slice(0, eq).trim();
    const to = part.slice(eq + 1).trim();
    if (eq <= 0 || !from || !to) {
      ctx.addIssue({ code: 'custom', message: `entry "${part}" must look like alias=served-model-name` });
      return z.NEVER;
    }
    map.set(from, to);
  }
  return map;
});

const httpUrl = z
  .string()
  .url('must be a URL such as http://127.0.0.1:8000')
  .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''));

/** One base URL or a comma-separated list of them (several vLLM backends, issue 10). */
const httpUrlList = z.string().transform((s, ctx) => {
  const urls: string[] = [];
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const parsed = httpUrl.safeParse(part);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `entry "${part.slice(0, 100)}" ${parsed.error.issues[0]?.message ?? 'is not a URL'}` });
      return z.NEVER;
    }
    urls.push(parsed.data);
  }
  return urls;
});

const redisUrl = z
  .string()
  .refine((u) => /^rediss?:\/\/[^\s]*$/.test(u), 'must be a redis:// or rediss:// URL (password and db in the URL)');

const EnvSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: int(0, 65535).optional(),
  FC_SERVER_PORT: int(1, 65535).optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  VLLM_URL: httpUrlList.optional(),
  VLLM_BACKENDS_FILE: z.string().min(1).optional(),
  VLLM_DISCOVERY: z.enum(['static', 'dns']).default('static'),
  VLLM_DISCOVERY_INTERVAL_MS: int(100).default(5_000),
  BACKEND_METRICS_INTERVAL_MS: int(50).default(500),
  // Consecutive failures (resets, 5xx, connect and first-byte timeouts) that eject a backend, and its backoff.
  BACKEND_EJECT_FAILURES: int(1).default(3),
  BACKEND_EJECT_BASE_MS: int(10).default(1_000),
  // Capped so that a backend that recovers is back in rotation within 15 s (issue 10).
  BACKEND_EJECT_MAX_MS: int(10).default(8_000),
  ROUTING: z.enum(['least-loaded', 'round-robin']).default('least-loaded'),
  ROUTING_AFFINITY: z.enum(['on', 'off']).default('on'),
  // Bounded-load consistent hashing: a session's backend keeps it while its load is within this factor of the mean.
  ROUTING_AFFINITY_BOUND: z.coerce.number({ error: 'must be a number' }).min(1, 'must be at least 1').default(1.25),
  FAILOVER_ATTEMPTS: int(0, 10).default(2),
  MODEL_FALLBACKS: aliases.default(new Map()),
  MAX_JSON_DEPTH: int(2, 1_000).default(64),
  REDIS_URL: redisUrl.optional(),
  REDIS_TIMEOUT_MS: int(1).default(50),
  RATE_LIMIT_ON_STORE_ERROR: z.enum(['local', 'open', 'closed']).default('local'),
  DATA_DIR: z.string().min(1).default('./data'),
  RESPONSES_TTL_S: int(1).default(30 * 24 * 3600),
  STORE_MAX_BYTES: int(1024).default(1024 * 1024 * 1024),
  VLLM_API_KEY: z.string().min(1).optional(),
  MODEL_ALIASES: aliases.default(new Map()),
  CONNECT_TIMEOUT_MS: int(1).default(5_000),
  FIRST_BYTE_TIMEOUT_MS: int(1).default(60_000),
  IDLE_TIMEOUT_MS: int(1).default(60_000),
  // 0 = off (the stream stays byte for byte vLLM's); else a `: ping` comment after this much silence.
  SSE_KEEPALIVE_MS: int(0)
    .refine((ms) => ms === 0 || ms >= 1_000, 'must be 0 (off) or at least 1000')
    .default(0),
  // FC's function timeout is 360 s (s.yaml); answer with our own 504 just before FC cuts the connection.
  REQUEST_TIMEOUT_MS: int(1).default(350_000),
  READY_WAIT_MS: int(0).default(10_000),
  INITIALIZE_TIMEOUT_MS: int(0).default(290_000),
  SHUTDOWN_GRACE_MS: int(0).default(25_000),
  MAX_BODY_BYTES: int(1).default(2 * 1024 * 1024),
  MODELS_CACHE_MS: int(0).default(5_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  API_KEYS: z.string().optional(),
  API_KEYS_FILE: z.string().min(1).optional(),
  ALLOW_ANONYMOUS: bool.default(false),
  METRICS_TOKEN: z.string().min(1).optional(),
  CORS_ORIGINS: list.default([]),
  // Our launch script runs vLLM with --max-num-seqs 32 (vllm/launch.sh); more in flight would only queue inside vLLM.
  // Per backend (match each vLLM's --max-num-seqs); a backends file can set it per backend.
  MAX_CONCURRENT_REQUESTS: int(1).default(32),
  MAX_QUEUE: int(0).default(64),
  QUEUE_TIMEOUT_MS: int(1).default(30_000),
  RATE_LIMIT_RPM: int(0).default(0),
  RATE_LIMIT_TPM: int(0).default(0),
  RATE_LIMIT_DEFAULT_MAX_TOKENS: int(1).default(1024),
  MAX_TOKENS_LIMIT: int(1).optional(),
  MAX_MESSAGES: int(1).default(1024),
});

export type Env = Record<string, string | undefined>;

/** Every environment variable the gateway reads (deploy files are checked against it). */
export const ENV_NAMES: readonly string[] = Object.freeze(Object.keys(EnvSchema.shape));

export interface Config {
  readonly nodeEnv: string;
  readonly port: number;
  readonly host: string;
  /** The first of `vllmUrls`. Undefined: run the built-in simulator in-process (refused when NODE_ENV=production). */
  readonly vllmUrl: string | undefined;
  /** VLLM_URL split on commas; empty when unset. With VLLM_DISCOVERY=dns each hostname stands for every address it resolves to. */
  readonly vllmUrls: readonly string[];
  readonly backends: {
    readonly file: string | undefined;
    readonly discovery: 'static' | 'dns';
    readonly discoveryIntervalMs: number;
    readonly metricsIntervalMs: number;
    readonly ejectFailures: number;
    readonly ejectBaseMs: number;
    readonly ejectMaxMs: number;
  };
  readonly routing: {
    readonly strategy: 'least-loaded' | 'round-robin';
    readonly affinity: boolean;
    readonly affinityBound: number;
    readonly failoverAttempts: number;
    /** Served model name → the served model to use when it has no ready backend or its queue is full. */
    readonly fallbacks: ReadonlyMap<string, string>;
  };
  /** Request bodies nested deeper than this are refused (400) before anything else. */
  readonly maxJsonDepth: number;
  /** Shared state for several replicas (rate limits, stored responses); never logged: it may hold a password. */
  readonly redis: { readonly url: string; readonly timeoutMs: number } | undefined;
  readonly state: { readonly dataDir: string; readonly responsesTtlS: number; readonly maxBytes: number };
  readonly vllmApiKey: string | undefined;
  readonly modelAliases: ReadonlyMap<string, string>;
  readonly timeouts: {
    readonly connectMs: number;
    readonly firstByteMs: number;
    readonly idleMs: number;
    readonly requestMs: number;
  };
  /** 0 = no SSE keep-alive comments. */
  readonly sseKeepaliveMs: number;
  readonly readyWaitMs: number;
  readonly initializeTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly maxBodyBytes: number;
  readonly modelsCacheMs: number;
  readonly logLevel: string;
  readonly logFormat: 'json' | 'pretty';
  readonly apiKeys: string | undefined;
  readonly apiKeysFile: string | undefined;
  readonly allowAnonymous: boolean;
  readonly metricsToken: string | undefined;
  readonly corsOrigins: readonly string[];
  readonly admission: { readonly maxConcurrent: number; readonly maxQueue: number; readonly queueTimeoutMs: number };
  readonly rateLimit: {
    readonly rpm: number;
    readonly tpm: number;
    readonly defaultMaxTokens: number;
    /** What a replica does while the shared (Redis) store fails: its own limits, no limits, or 503. */
    readonly onStoreError: 'local' | 'open' | 'closed';
  };
  readonly maxTokensLimit: number | undefined;
  readonly maxMessages: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment. Throws a ConfigError whose message names every bad variable. */
export function parseConfig(env: Env): Config {
  // An empty value is an unset one: compose's `${VAR:-}` and Kubernetes' empty Secret keys pass "" (issue 11).
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = EnvSchema.safeParse(set);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = result.data;
  if (!e.VLLM_URL?.length && !e.VLLM_BACKENDS_FILE && e.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration:\n  VLLM_URL: is required when NODE_ENV=production (without it the gateway would serve simulated answers)');
  }
  const vllmUrls = e.VLLM_URL ?? [];
  if (vllmUrls.length > 0 && !e.API_KEYS && !e.API_KEYS_FILE && !e.ALLOW_ANONYMOUS) {
    throw new ConfigError(
      'Invalid configuration:\n  API_KEYS: no API keys are configured for a real VLLM_URL; set API_KEYS or API_KEYS_FILE, or ALLOW_ANONYMOUS=true to serve without keys',
    );
  }
  const config: Config = {
    nodeEnv: e.NODE_ENV,
    port: e.PORT ?? e.FC_SERVER_PORT ?? DEFAULT_PORT,
    host: e.HOST,
    vllmUrl: vllmUrls[0],
    vllmUrls,
    backends: {
      file: e.VLLM_BACKENDS_FILE,
      discovery: e.VLLM_DISCOVERY,
      discoveryIntervalMs: e.VLLM_DISCOVERY_INTERVAL_MS,
      metricsIntervalMs: e.BACKEND_METRICS_INTERVAL_MS,
      ejectFailures: e.BACKEND_EJECT_FAILURES,
      ejectBaseMs: e.BACKEND_EJECT_BASE_MS,
      ejectMaxMs: Math.max(e.BACKEND_EJECT_MAX_MS, e.BACKEND_EJECT_BASE_MS),
    },
    routing: {
      strategy: e.ROUTING,
      affinity: e.ROUTING_AFFINITY === 'on',
      affinityBound: e.ROUTING_AFFINITY_BOUND,
      failoverAttempts: e.FAILOVER_ATTEMPTS,
      fallbacks: e.MODEL_FALLBACKS,
    },
    maxJsonDepth: e.MAX_JSON_DEPTH,
    redis: e.REDIS_URL ? { url: e.REDIS_URL, timeoutMs: e.REDIS_TIMEOUT_MS } : undefined,
    state: { dataDir: e.DATA_DIR, responsesTtlS: e.RESPONSES_TTL_S, maxBytes: e.STORE_MAX_BYTES },
    vllmApiKey: e.VLLM_API_KEY,
    modelAliases: e.MODEL_ALIASES,
    timeouts: {
      connectMs: e.CONNECT_TIMEOUT_MS,
      firstByteMs: e.FIRST_BYTE_TIMEOUT_MS,
      idleMs: e.IDLE_TIMEOUT_MS,
      requestMs: e.REQUEST_TIMEOUT_MS,
    },
    sseKeepaliveMs: e.SSE_KEEPALIVE_MS,
    readyWaitMs: e.READY_WAIT_MS,
    initializeTimeoutMs: e.INITIALIZE_TIMEOUT_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    modelsCacheMs: e.MODELS_CACHE_MS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? 'json',
    apiKeys: e.API_KEYS,
    apiKeysFile: e.API_KEYS_FILE,
    allowAnonymous: e.ALLOW_ANONYMOUS,
    metricsToken: e.METRICS_TOKEN,
    corsOrigins: e.CORS_ORIGINS,
    admission: { maxConcurrent: e.MAX_CONCURRENT_REQUESTS, maxQueue: e.MAX_QUEUE, queueTimeoutMs: e.QUEUE_TIMEOUT_MS },
    rateLimit: { rpm: e.RATE_LIMIT_RPM, tpm: e.RATE_LIMIT_TPM, defaultMaxTokens: e.RATE_LIMIT_DEFAULT_MAX_TOKENS, onStoreError: e.RATE_LIMIT_ON_STORE_ERROR },
    maxTokensLimit: e.MAX_TOKENS_LIMIT,
    maxMessages: e.MAX_MESSAGES,
  };
  return Object.freeze(config);
}
