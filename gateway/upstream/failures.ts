/**
 * @module upstream/failures
 * Decides what a client may learn about an upstream failure. Everything here becomes an OpenAI
 * envelope; internal addresses, stack traces and undici's messages stay in our logs only
 * (STYLE.md "one error vocabulary", peers.md 5.4 on Envoy's user-facing errors).
 */
import { GatewayError, type ErrorType } from '../errors.js';

/** Low-cardinality label for `gateway_upstream_errors_total{kind}`. */
export type FailureKind =
  | 'connect_refused'
  | 'connect_timeout'
  | 'reset'
  | 'first_byte_timeout'
  | 'idle_timeout'
  | 'total_timeout'
  | 'http_4xx'
  | 'http_5xx'
  | 'stream_error'
  | 'stream_truncated'
  | 'other';

/** Thrown (as an abort reason) when the request's total budget runs out. */
export class TotalTimeout extends Error {
  override name = 'TotalTimeout';
  readonly code = 'GW_TOTAL_TIMEOUT';
}

/** Abort reason when the client went away. */
export class ClientGone extends Error {
  override name = 'ClientGone';
  readonly code = 'GW_CLIENT_GONE';
}

/** Abort reason when shutdown's grace period ran out. */
export class ShutdownAbort extends Error {
  override name = 'ShutdownAbort';
  readonly code = 'GW_SHUTDOWN';
}

export function kindOf(err: unknown): FailureKind {
  const code = (err as { code?: string } | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connect_refused';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'first_byte_timeout';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'idle_timeout';
    case 'GW_TOTAL_TIMEOUT':
      return 'total_timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    default:
      return 'other';
  }
}

const TIMEOUT_TEXT: Partial<Record<FailureKind, string>> = {
  connect_timeout: 'The model server did not accept the connection in time.',
  first_byte_timeout: 'The model server did not start answering in time.',
  idle_timeout: 'The model server stopped sending data.',
  total_timeout: 'The request took longer than the gateway allows.',
};

/** The client-facing error for a failure before any response byte was sent. */
export function failureBeforeResponse(kind: FailureKind, timeouts: { idleMs: number; firstByteMs: number; requestMs: number }): GatewayError {
  const text = TIMEOUT_TEXT[kind];
  if (text) {
    const ms = kind === 'idle_timeout' ? timeouts.idleMs : kind === 'first_byte_timeout' ? timeouts.firstByteMs : kind === 'total_timeout' ? timeouts.requestMs : undefined;
    return new GatewayError(504, ms ? `${text} (limit ${ms} ms)` : text, { type: 'timeout_error', code: `upstream_${kind}` });
  }
  if (kind === 'connect_refused') return modelStarting(5);
  return new GatewayError(502, 'The connection to the model server failed.', { type: 'upstream_error', code: 'upstream_connection_error' });
}

/** The error event written into a stream that fails after its 200 was sent. */
export function failureMidStream(kind: FailureKind, timeouts: { idleMs: number; requestMs: number }): GatewayError {
  if (kind === 'idle_timeout') {
    return new GatewayError(504, `The model server stopped sending tokens for ${timeouts.idleMs} ms; the answer is incomplete.`, { type: 'timeout_error', code: 'upstream_idle_timeout' });
  }
  if (kind === 'total_timeout') {
    return new GatewayError(504, `The request took longer than ${timeouts.requestMs} ms; the answer is incomplete.`, { type: 'timeout_error', code: 'upstream_total_timeout' });
  }
  return new GatewayError(502, 'The connection to the model server was lost; the answer is incomplete.', { type: 'upstream_error', code: 'upstream_stream_truncated' });
}

export function shuttingDown(): GatewayError {
  return new GatewayError(503, 'The gateway is shutting down; retry shortly.', { type: 'server_error', code: 'shutting_down', headers: { 'retry-after': '5' } });
}

/** Every backend of the model is ejected or down: fail fast instead of waiting on a dead one (issue 10). */
export function modelUnavailable(model: string, retryAfterS: number): GatewayError {
  return new GatewayError(503, `No backend serving \`${model.slice(0, 200)}\` is available right now; retry shortly.`, {
    type: 'server_error',
    code: 'model_unavailable',
    headers: { 'retry-after': String(retryAfterS) },
  });
}

export function modelStarting(retryAfterS: number): GatewayError {
  return new GatewayError(503, 'The model server is starting or restarting; retry shortly.', {
    type: 'server_error',
    code: 'model_not_ready',
    headers: { 'retry-after': String(retryAfterS) },
  });
}

const TYPE_BY_STATUS: Record<number, ErrorType> = {
  400: 'invalid_request_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'requests',
};

/**
 * vLLM's error bodies come in several shapes (vllm.md 5.1, 9 rule 2): `{"error":{message,type,param,code:int}}`,
 * the flat pre-0.10.1 `{"object":"error",...}`, `{"error":"Unauthorized"}`, `{"detail":"..."}` and empty.
 * The status is taken from HTTP, not the body. 4xx messages describe the client's own request (context length,
 * bad sampling values) and pass through; 5xx messages stay in our logs.
 */
export function fromUpstreamError(status: number, body: string): { error: GatewayError; upstreamMessage: string } {
  const { message, param } = readVllmError(body);
  const upstreamMessage = message || `HTTP ${status} without a message`;
  if (status === 401 || status === 403) {
    // vLLM rejected the gateway's own VLLM_API_KEY: a deployment fault, not the client's (vllm.md 6).
    return {
      error: new GatewayError(502, 'The gateway is not authorised by the model server; check VLLM_API_KEY.', { type: 'upstream_error', code: 'upstream_auth_failed' }),
      upstreamMessage,
    };
  }
  if (status >= 500 || status < 400) {
    const code = status === 503 ? 'model_unavailable' : 'upstream_error';
    return {
      error: new GatewayError(status >= 400 ? status : 502, 'The model server failed to process the request.', { type: 'server_error', code }),
      upstreamMessage,
    };
  }
  const type = TYPE_BY_STATUS[status] ?? 'invalid_request_error';
  const code = status === 404 ? 'model_not_found' : /maximum context length/i.test(message) ? 'context_length_exceeded' : null;
  return {
    error: new GatewayError(status, scrub(message) || `The model server rejected the request (HTTP ${status}).`, { type, param, code }),
    upstreamMessage,
  };
}

function readVllmError(body: string): { message: string; param: string | null } {
  if (!body) return { message: '', param: null };
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const err = parsed.error;
    if (typeof err === 'string') return { message: err, param: null };
    const obj = (err && typeof err === 'object' ? err : parsed) as Record<string, unknown>;
    const message = typeof obj.message === 'string' ? obj.message : typeof parsed.detail === 'string' ? parsed.detail : '';
    const param = typeof obj.param === 'string' ? obj.param : null;
    return { message, param };
  } catch {
    return { message: body.slice(0, 300), param: null };
  }
}

/** Removes what looks like an internal address or file path from a message that reaches a client. */
function scrub(message: string): string {
  return message
    .replace(/https?:\/\/[^\s'"]+/g, '<url>')
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '<address>')
    .replace(/\bat 0x[0-9a-f]+/gi, '')
    .slice(0, 2_000);
}
