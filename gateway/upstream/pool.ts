/**
 * @module upstream/pool
 * The one undici connection pool to vLLM, and the headers every upstream request carries.
 */
import { Pool } from 'undici';
import type { Config } from '../config.js';

/**
 * vLLM (uvicorn) closes idle keep-alive sockets after 5 s (VLLM_HTTP_TIMEOUT_KEEP_ALIVE, vllm.md 1.3).
 * Reusing a socket the server has just closed fails with ECONNRESET on the first write, so our pool
 * lets sockets go a second earlier.
 */
export const UPSTREAM_KEEP_ALIVE_MS = 4_000;

export interface UpstreamPoolOptions {
  /** In-flight inference cap of this backend (default: MAX_CONCURRENT_REQUESTS). */
  maxConcurrent?: number;
  /** TLS server name when an https backend is dialled by address (DNS discovery). */
  servername?: string;
}

export function createUpstreamPool(config: Config, origin: string, options: UpstreamPoolOptions = {}): Pool {
  return new Pool(origin, {
    // In-flight inference is capped by admission control; keep a few sockets for /health, /metrics, /v1/models.
    connections: (options.maxConcurrent ?? config.admission.maxConcurrent) + 8,
    pipelining: 1,
    keepAliveTimeout: UPSTREAM_KEEP_ALIVE_MS,
    keepAliveMaxTimeout: UPSTREAM_KEEP_ALIVE_MS,
    connect: options.servername ? { timeout: config.timeouts.connectMs, servername: options.servername } : { timeout: config.timeouts.connectMs },
  });
}

/**
 * Headers for a request to vLLM. Nothing the client sent is copied here except the request id: the
 * client's Authorization belongs to the gateway, and vLLM gets `VLLM_API_KEY` instead (vllm.md 6).
 */
export function upstreamHeaders(
  apiKey: string | undefined,
  requestId: string | undefined,
  contentLength: number | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (contentLength !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(contentLength);
  }
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  // vLLM turns X-Request-Id into the response id (chatcmpl-<id>) and its engine request id (vllm.md 1.3).
  if (requestId) headers['x-request-id'] = requestId;
  return headers;
}
