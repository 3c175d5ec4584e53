/**
 * @module auth/middleware
 * API-key auth for the inference and info routes, after Hono's bearer-auth: an options type, a factory,
 * a named inner function.
 *
 * Missing, wrong and malformed keys all get the same 401, byte for byte: a caller probing the gateway
 * learns nothing about which of its guesses came closer. The reason is still reported to `onReject`
 * for metrics. vLLM's own `--api-key` is not a security boundary (vllm.md 6): this is.
 */
import type { MiddlewareHandler } from 'hono';
import { envelope } from '../errors.js';
import { presentedKey, type ApiKey, type KeyRegistry } from './keys.js';

export interface ApiKeyAuthOptions {
  /** Read on every request so a SIGHUP reload takes effect at once; undefined = anonymous mode (ALLOW_ANONYMOUS). */
  registry: () => KeyRegistry | undefined;
  onReject?: (reason: 'missing' | 'invalid') => void;
}

export type AuthVariables = { principal: ApiKey };

const ANONYMOUS: ApiKey = Object.freeze({ name: 'anonymous' });

const UNAUTHORIZED_BODY = JSON.stringify(
  envelope("Invalid API key. Provide it as 'Authorization: Bearer <key>'.", 'authentication_error', null, 'invalid_api_key'),
);
// RFC 9110 11.6.1: a 401 carries a challenge. The same one for every failure, like the body.
const UNAUTHORIZED_HEADERS = { 'content-type': 'application/json', 'www-authenticate': 'Bearer' };

export function apiKeyAuth(options: ApiKeyAuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function apiKeyAuth(c, next) {
    // CORS preflights carry no credentials by design; the CORS middleware answers them.
    if (c.req.method === 'OPTIONS') return next();
    const registry = options.registry();
    if (!registry) {
      c.set('principal', ANONYMOUS);
      return next();
    }
    const authorization = c.req.header('authorization');
    const apiKeyHeader = c.req.header('api-key');
    const key = presentedKey(authorization, apiKeyHeader);
    const principal = key === undefined ? undefined : registry.lookup(key);
    if (!principal) {
      options.onReject?.(authorization === undefined && apiKeyHeader === undefined ? 'missing' : 'invalid');
      return c.body(UNAUTHORIZED_BODY, 401, UNAUTHORIZED_HEADERS);
    }
    c.set('principal', principal);
    return next();
  };
}
