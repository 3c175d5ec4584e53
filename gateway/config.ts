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

const EnvSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: int(0, 65535).optional(),
  FC_SERVER_PORT: int(1, 65535).optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  VLLM_URL: httpUrl.optional(),
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

export interface Config {
  readonly nodeEnv: string;
  readonly port: number;
  readonly host: string;
  /** Undefined: run the built-in simulator in-process (refused when NODE_ENV=production). */
  readonly vllmUrl: string | undefined;
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
  readonly rateLimit: { readonly rpm: number; readonly tpm: number; readonly defaultMaxTokens: number };
  readonly maxTokensLimit: number | undefined;
  readonly maxMessages: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment. Throws a ConfigError whose message names every bad variable. */
export function parseConfig(env: Env): Config {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = result.data;
  if (!e.VLLM_URL && e.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration:\n  VLLM_URL: is required when NODE_ENV=production (without it the gateway would serve simulated answers)');
  }
  if (e.VLLM_URL && !e.API_KEYS && !e.API_KEYS_FILE && !e.ALLOW_ANONYMOUS) {
    throw new ConfigError(
      'Invalid configuration:\n  API_KEYS: no API keys are configured for a real VLLM_URL; set API_KEYS or API_KEYS_FILE, or ALLOW_ANONYMOUS=true to serve without keys',
    );
  }
  const config: Config = {
    nodeEnv: e.NODE_ENV,
    port: e.PORT ?? e.FC_SERVER_PORT ?? DEFAULT_PORT,
    host: e.HOST,
    vllmUrl: e.VLLM_URL,
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
    rateLimit: { rpm: e.RATE_LIMIT_RPM, tpm: e.RATE_LIMIT_TPM, defaultMaxTokens: e.RATE_LIMIT_DEFAULT_MAX_TOKENS },
    maxTokensLimit: e.MAX_TOKENS_LIMIT,
    maxMessages: e.MAX_MESSAGES,
  };
  return Object.freeze(config);
}
