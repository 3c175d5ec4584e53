/**
 * @module auth/middleware
 * API-key auth for the inference and info routes, after Hono's bearer-auth: an options type, a factory,
 * a named inner function.
 *
 * Missing, wrong and malformed keys all get the same 401, byte for byte: a caller probing the gateway
 * learns nothing about which of its guesses came closer. The reason is still reported to `onReject`
 * for metrics. vLLM's own `--api-key` is not a security boundary (vllm.md 6): this is. The 401 is
 * written in the error shape of the routes behind it (`shape`: Anthropic's on /v1/messages, so the
 * Anthropic SDKs raise AuthenticationError with its message); the OpenAI envelope by default.
 */
import type { MiddlewareHandler } from 'hono';
import type { ErrorShape } from '../call/client-response.js';
import { GatewayError, envelope } from '../errors.js';
import { presentedKey, type ApiKey, type KeyRegistry } from './keys.js';

export interface ApiKeyAuthOptions {
  /** Read on every request so a SIGHUP reload takes effect at once; undefined = anonymous mode (ALLOW_ANONYMOUS). */
  registry: () => KeyRegistry | undefined;
  onReject?: (reason: 'missing' | 'invalid') => void;
  /** The error shape of the routes behind this instance; the 401 body is built in it once, at creation. */
  shape?: ErrorShape;
}

export type AuthVariables = { principal: ApiKey };

const ANONYMOUS: ApiKey = Object.freeze({ name: 'anonymous' });

const UNAUTHORIZED_MESSAGE = "Invalid API key. Provide it as 'Authorization: Bearer <key>'.";
const UNAUTHORIZED_BODY = JSON.stringify(envelope(UNAUTHORIZED_MESSAGE, 'authentication_error', null, 'invalid_api_key'));
// RFC 9110 11.6.1: a 401 carries a challenge. The same one for every failure, like the body.
const UNAUTHORIZED_HEADERS = { 'content-type': 'application/json', 'www-authenticate': 'Bearer' };

export function apiKeyAuth(options: ApiKeyAuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  const rejection = options.shape
    ? options.shape.errorBody(new GatewayError(401, UNAUTHORIZED_MESSAGE, { type: 'authentication_error', code: 'invalid_api_key' }))
    : UNAUTHORIZED_BODY;
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
    const xApiKeyHeader = c.req.header('x-api-key');
    const key = presentedKey(authorization, apiKeyHeader, xApiKeyHeader);
    const principal = key === undefined ? undefined : registry.lookup(key);
    if (!principal) {
      options.onReject?.(authorization === undefined && apiKeyHeader === undefined && xApiKeyHeader === undefined ? 'missing' : 'invalid');
      return c.body(rejection, 401, UNAUTHORIZED_HEADERS);
    }
    c.set('principal', principal);
    return next();
  };
}
