/**
 * @module call/cors
 * CORS for browser apps (CORS_ORIGINS). The grant for a request's Origin is decided once, when the call
 * begins, and every answer carries it through `client-response` — proxied streams and errors included,
 * which Hono's middleware never sees because they are written straight to Node's response (issue 9).
 * Preflights are answered here.
 *
 * Requested headers are reflected (token characters only, bounded): the OpenAI and Anthropic browser SDKs
 * send their own `x-stainless-*` and `anthropic-*` headers, and a fixed list would block them.
 */
import type { MiddlewareHandler } from 'hono';

/** What a browser script may read from our answers. */
const EXPOSED = [
  'x-request-id',
  'server-timing',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
  'x-gateway-fallback',
].join(', ');

const DEFAULT_ALLOWED = 'authorization, api-key, x-api-key, content-type, x-request-id, x-session-id, x-gateway-fallback, anthropic-version';
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;
const NONE: Readonly<Record<string, string>> = Object.freeze({});

export class CorsPolicy {
  readonly #origins: ReadonlySet<string>;
  readonly #any: boolean;

  constructor(origins: readonly string[]) {
    this.#origins = new Set(origins);
    this.#any = this.#origins.has('*');
  }

  get enabled(): boolean {
    return this.#origins.size > 0;
  }

  /** The headers an answer to `origin` carries: the grant and the exposed list, or nothing. */
  grant(origin: string | undefined): Readonly<Record<string, string>> {
    if (!origin || !this.allows(origin)) return NONE;
    return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': EXPOSED };
  }

  allows(origin: string): boolean {
    return this.#any || this.#origins.has(origin);
  }

  /** Answers preflights (OPTIONS with Access-Control-Request-Method); other requests pass. */
  preflight(): MiddlewareHandler {
    const allows = (origin: string) => this.allows(origin);
    return async function corsPreflight(c, next) {
      if (c.req.method !== 'OPTIONS' || !c.req.header('access-control-request-method')) return next();
      const origin = c.req.header('origin');
      if (!origin || !allows(origin)) return c.body(null, 204, { vary: 'Origin' });
      const requested = c.req.header('access-control-request-headers')?.trim();
      return c.body(null, 204, {
        'access-control-allow-origin': origin,
        vary: 'Origin',
        'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
        'access-control-allow-headers': requested && requested.length <= 2048 && HEADER_LIST.test(requested) ? requested : DEFAULT_ALLOWED,
        'access-control-max-age': '600',
      });
    };
  }
}
