/**
 * @module rate-limit/redis-store
 * The store contract over Redis (REDIS_URL): every replica reserves from and settles into the same
 * buckets, one round trip per call (redis-scripts.ts). The `nowMs` arguments are ignored: the scripts
 * read Redis's clock. This store only reports failures (rejects); resilient-store.ts decides what a
 * failure means for the request (RATE_LIMIT_ON_STORE_ERROR).
 *
 * Why ioredis, and why these options (peers-2026.md 3: with ioredis's defaults a Redis blip became a
 * ~30 s stall on every request, firecrawl#3728; LiteLLM hung every request on a Redis without a socket
 * timeout): `enableOfflineQueue: false` fails a command at once while disconnected instead of queueing it;
 * `commandTimeout` bounds a connected but silent Redis (frozen, overloaded) to REDIS_TIMEOUT_MS;
 * `connectTimeout` gives up on a connect attempt quickly; `maxRetriesPerRequest: 0` and
 * `autoResendUnfulfilledCommands: false` never replay a reservation after a reconnect (the request was
 * answered without it long ago); `retryStrategy` reconnects with capped backoff in the background, so
 * limits are shared again as soon as Redis answers; `defineCommand` sends the script once per connection
 * and then EVALSHA, reloading it by itself on NOSCRIPT (a `SCRIPT FLUSH`, a failover to a fresh replica).
 */
import { Redis } from 'ioredis';
import { RESERVE_LUA, SETTLE_LUA } from './redis-scripts.js';
import { limitOf, reservationCost, type Limits, type RateLimitDecision, type RateLimitStore, type Reservation } from './store.js';

/** Past the moment every bucket of a key is full again (the key then means nothing) before Redis drops it. */
const TTL_MARGIN_MS = 1_000;
const RECONNECT_MAX_MS = 1_000;

export interface RedisStoreOptions {
  /** redis:// or rediss:// with password and db; never logged (see scrubSecrets). */
  url: string;
  /** Per-command timeout (REDIS_TIMEOUT_MS). */
  timeoutMs: number;
  /** Prefix of every key this store writes. */
  keyPrefix?: string;
  connectTimeoutMs?: number;
  /** Connection state changes, for resilient-store.ts. `error` carries ioredis's error (scrub before showing it). */
  onReady?: () => void;
  onConnectionError?: (err: Error) => void;
}

interface ScriptCommands {
  gatewayRateLimitReserve(key: string, rpm: string, tpm: string, cost: string, margin: string): Promise<Array<number | string>>;
  gatewayRateLimitSettle(key: string, generation: string, delta: string, margin: string): Promise<number>;
}

export class RedisReservation implements Reservation {
  settled = false;
  constructor(
    readonly key: string,
    readonly tokens: number,
    /** The tokens bucket's generation in Redis; undefined when TPM was unlimited (nothing to settle). */
    readonly generation: string | undefined,
  ) {}
}

const REASONS = [undefined, 'requests', 'tokens', 'tokens_exceed_limit'] as const;

export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: Redis & ScriptCommands;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  #everReady = false;
  /** One listener for every call waiting on the first connection (not one each: MaxListenersExceeded). */
  readonly #firstReady: Promise<void>;

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'vllm-gateway:rl:';
    this.#timeoutMs = options.timeoutMs;
    const client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: options.timeoutMs,
      connectTimeout: options.connectTimeoutMs ?? Math.max(200, 10 * options.timeoutMs),
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times - 1, 10), RECONNECT_MAX_MS) + Math.floor(Math.random() * 50),
      connectionName: 'vllm-gateway-rate-limit',
      // Fewer handshake commands, each under commandTimeout: no INFO ready check (a loading Redis answers
      // LOADING, which counts as unavailable) and no CLIENT SETINFO.
      enableReadyCheck: false,
      disableClientInfo: true,
    });
    client.defineCommand('gatewayRateLimitReserve', { numberOfKeys: 1, lua: RESERVE_LUA });
    client.defineCommand('gatewayRateLimitSettle', { numberOfKeys: 1, lua: SETTLE_LUA });
    // Without an 'error' listener ioredis prints every connection error to the console, unscrubbed.
    client.on('error', (err: Error) => options.onConnectionError?.(err));
    this.#firstReady = new Promise<void>((resolve) => client.once('ready', () => resolve()));
    client.on('ready', () => {
      this.#everReady = true;
      options.onReady?.();
    });
    this.#client = client as Redis & ScriptCommands;
    // Not awaited: the gateway starts (and answers by RATE_LIMIT_ON_STORE_ERROR) while Redis is down.
    client.connect().catch(() => undefined);
  }

  /** True while connected; commands fail at once otherwise. */
  get ready(): boolean {
    return this.#client.status === 'ready';
  }

  /** Has been connected at least once. */
  get everReady(): boolean {
    return this.#everReady;
  }

  /**
   * The first calls after start-up may find the first connection still being made: they wait for it up to
   * the command timeout rather than fail (and fall back) at once. Later reconnects are not waited for.
   */
  async #firstConnection(): Promise<void> {
    if (this.#everReady || (this.#client.status !== 'connecting' && this.#client.status !== 'connect' && this.#client.status !== 'wait')) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#firstReady, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#timeoutMs)))]);
    clearTimeout(timer);
  }

  async reserve(key: string, limits: Limits, tokens: number, _nowMs: number): Promise<RateLimitDecision> {
    const cost = reservationCost(tokens);
    const rpm = limitOf(limits.rpm);
    const tpm = limitOf(limits.tpm);
    await this.#firstConnection();
    const reply = await this.#client.gatewayRateLimitReserve(this.#prefix + key, String(rpm), String(tpm), String(cost), String(TTL_MARGIN_MS));
    if (!Array.isArray(reply) || reply.length !== 8) throw new TypeError('rate-limit script: unexpected reply');
    const [allowed, reasonCode, retryAfterMs, reqRemaining, reqResetMs, tokRemaining, tokResetMs, generation] = reply.map((v) =>
      typeof v === 'number' ? v : String(v),
    );
    const d: RateLimitDecision = { allowed: allowed === 1 };
    if (rpm > 0) d.requests = { limit: rpm, remaining: Number(reqRemaining), resetMs: Number(reqResetMs) };
    if (tpm > 0) d.tokens = { limit: tpm, remaining: Number(tokRemaining), resetMs: Number(tokResetMs) };
    if (d.allowed) {
      d.reservation = new RedisReservation(key, cost, tpm > 0 ? String(generation) : undefined);
      return d;
    }
    d.reason = REASONS[Number(reasonCode)];
    if (Number(retryAfterMs) >= 0) d.retryAfterMs = Number(retryAfterMs);
    return d;
  }

  async settle(reservation: Reservation, actualTokens: number | undefined, _nowMs: number): Promise<void> {
    if (!(reservation instanceof RedisReservation) || reservation.settled) return;
    reservation.settled = true;
    // As in the memory store: unknown usage keeps the reservation; no TPM bucket or an exact estimate changes nothing.
    if (actualTokens === undefined || !Number.isFinite(actualTokens) || actualTokens < 0) return;
    const delta = reservation.tokens - Math.ceil(actualTokens);
    if (reservation.generation === undefined || delta === 0) return;
    await this.#client.gatewayRateLimitSettle(this.#prefix + reservation.key, reservation.generation, String(delta), String(TTL_MARGIN_MS));
  }

  /** Drops the connection at once (a dead Redis must not hold shutdown) and stops reconnecting. */
  async close(): Promise<void> {
    this.#client.disconnect(false);
  }
}

/**
 * An error message fit for logs and /system/status: the URL and its password never appear, whatever a
 * library put in the message (a future ioredis that quotes its connection string, a DNS error naming the URL).
 */
export function scrubSecrets(message: string, url: string): string {
  let out = message.replace(/rediss?:\/\/\S*/gi, 'redis://[redacted]');
  try {
    const u = new URL(url);
    for (const secret of [u.password, decodeURIComponent(u.password), u.username, decodeURIComponent(u.username)]) {
      if (secret.length >= 3) out = out.split(secret).join('[redacted]');
    }
  } catch {
    // Config validated the URL; nothing more to scrub from an unparsable one.
  }
  return out;
}

/** A small fixed set, fit for a metric label. */
export type StoreErrorKind = 'timeout' | 'unavailable' | 'auth' | 'script' | 'other';

export function storeErrorKind(err: unknown): StoreErrorKind {
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  if (/timed out/i.test(message)) return 'timeout';
  if (/NOAUTH|WRONGPASS|NOPERM/.test(message)) return 'auth';
  if (
    name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|LOADING/i.test(message)
  ) {
    return 'unavailable';
  }
  if (err instanceof TypeError || /NOSCRIPT|ERR .*script|user_script/i.test(message)) return 'script';
  return 'other';
}
