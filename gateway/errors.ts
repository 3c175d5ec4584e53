/**
 * @module errors
 * The one error vocabulary of the gateway. Every route, middleware and the app's `onError`/`notFound`
 * build their answers here, in the OpenAI envelope `{"error":{"message","type","param","code"}}` that
 * the OpenAI SDKs parse (a body in any other shape reaches SDK users as "status code (no body)",
 * peers.md 3E).
 */

/** The `type` values we send. They follow OpenAI's public error types where one fits. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'requests'
  | 'tokens'
  | 'server_error'
  | 'timeout_error'
  | 'upstream_error';

export interface ErrorEnvelope {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export interface GatewayErrorInit {
  type: ErrorType;
  param?: string | null;
  code?: string | null;
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An error that knows its HTTP status and its client-facing envelope. Throw it anywhere below a route. */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string> | undefined;

  constructor(status: number, message: string, init: GatewayErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'GatewayError';
    this.status = status;
    this.type = init.type;
    this.param = init.param ?? null;
    this.code = init.code ?? null;
    this.headers = init.headers;
  }

  toJSON(): ErrorEnvelope {
    return envelope(this.message, this.type, this.param, this.code);
  }
}

export function envelope(
  message: string,
  type: ErrorType,
  param: string | null = null,
  code: string | null = null,
): ErrorEnvelope {
  return { error: { message, type, param, code } };
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): GatewayError {
  return new GatewayError(400, message, { type: 'invalid_request_error', param, code });
}

/** One SSE event carrying an error, for failures after a stream's 200 has been sent (peers.md 3E). */
export function sseErrorEvent(err: GatewayError): string {
  return `data: ${JSON.stringify(err.toJSON())}\n\n`;
}
