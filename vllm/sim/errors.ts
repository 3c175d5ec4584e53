/**
 * @module sim/errors
 * vLLM's error answers (vllm.md 5): the nested envelope `{"error":{message,type,param,code}}` with an
 * integer code equal to the HTTP status, the older shapes the fault injector can also produce, the
 * in-stream error event, and the exact messages the simulator reproduces.
 */

/**
 * 'anthropic' is what vLLM's /v1/messages route makes of a serving error (`translate_error_response` in
 * `entrypoints/anthropic/api_router.py`): `{"type":"error","error":{"type":<vLLM's type>,"message":…}}`, the
 * HTTP status unchanged. Note the inner type is vLLM's ("BadRequestError"), not Anthropic's
 * ("invalid_request_error").
 */
export type ErrorShape = 'nested' | 'flat' | 'string' | 'detail' | 'empty' | 'anthropic';

export interface SimError {
  status: number;
  type: string;
  message: string;
  param: string | null;
}

/** The response body of `err` in one of the shapes of vllm.md 5.1; '' for the empty shape. */
export function errorBody(err: SimError, shape: ErrorShape = 'nested'): string {
  switch (shape) {
    case 'nested':
      return JSON.stringify({ error: { message: err.message, type: err.type, param: err.param, code: err.status } });
    case 'flat':
      // Up to v0.10.0 (vllm.md 5.1): one flat object with "object":"error".
      return JSON.stringify({ object: 'error', message: err.message, type: err.type, param: err.param, code: err.status });
    case 'string':
      return JSON.stringify({ error: err.message });
    case 'detail':
      return JSON.stringify({ detail: err.message });
    case 'empty':
      return '';
    case 'anthropic':
      return JSON.stringify({ type: 'error', error: { type: err.type, message: err.message } });
  }
}

/** The event vLLM writes when generation fails after the 200 went out (vllm.md 4), without [DONE]. */
export function streamErrorEvent(err: SimError): string {
  return `data: ${errorBody(err)}\n\n`;
}

/** vllm.md 5.2: EngineDeadError. */
export const ENGINE_DEAD: SimError = Object.freeze({
  status: 500,
  type: 'InternalServerError',
  message: 'EngineCore encountered an issue. See stack trace (above) for the root cause.',
  param: null,
});

/** vllm.md 5.2: GenerationError, the per-request engine failure used for error-mid-stream. */
export const GENERATION_ERROR: SimError = Object.freeze({
  status: 500,
  type: 'InternalServerError',
  message: 'Internal server error',
  param: null,
});

/** vllm.md 1.3: the content-type dependency raises an HTTPException, whose type is the HTTP phrase. */
export const UNSUPPORTED_MEDIA_TYPE: SimError = Object.freeze({
  status: 400,
  type: 'Bad Request',
  message: "Unsupported Media Type: Only 'application/json' is allowed",
  param: null,
});

/** vllm.md 2.1: literal backticks around the name. */
export function modelNotFound(name: string): SimError {
  return { status: 404, type: 'NotFoundError', message: `The model \`${name}\` does not exist.`, param: 'model' };
}

/**
 * A VLLMValidationError raised while serving (sampling checks, tools, template): 400 BadRequestError.
 * vLLM's message is `str(exc)`, which appends "(parameter=…, value=…)" when those are set.
 */
export function badRequest(message: string, param: string | null = null, value?: string): SimError {
  const extras: string[] = [];
  if (param !== null) extras.push(`parameter=${param}`);
  if (value !== undefined) extras.push(`value=${value}`);
  return { status: 400, type: 'BadRequestError', message: extras.length ? `${message} (${extras.join(', ')})` : message, param };
}

/** vllm.md 5.3, the [A] renderer variant (param "input_tokens"). */
export function contextLengthError(maxModelLen: number, promptTokens: number, requested: number): SimError {
  return {
    status: 400,
    type: 'BadRequestError',
    message:
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${requested} output tokens ` +
      `and your prompt contains ${promptTokens} input tokens, for a total of ${promptTokens + requested} tokens. ` +
      'Please reduce the length of the input prompt or the number of requested output tokens.',
    param: 'input_tokens',
  };
}

/** vllm.md 5.3: the prompt alone fills the context (the request gave no max_tokens). */
export function inputTooLongError(maxModelLen: number, promptTokens: number): SimError {
  return {
    status: 400,
    type: 'BadRequestError',
    message: `Input length (${promptTokens}) exceeds model's maximum context length (${maxModelLen}).`,
    param: 'input_tokens',
  };
}

/** A 4xx/5xx chosen by the `http=` fault: the type vLLM uses for that status, or the HTTP phrase. */
export function injectedError(status: number): SimError {
  const type = INJECTED_TYPES[status] ?? STATUS_PHRASES[status] ?? 'Error';
  return { status, type, message: `Simulated HTTP ${status} (fault injection)`, param: null };
}

const INJECTED_TYPES: Readonly<Record<number, string>> = {
  400: 'BadRequestError',
  404: 'NotFoundError',
  422: 'UnprocessableEntityError',
  500: 'InternalServerError',
  501: 'NotImplementedError',
};

const STATUS_PHRASES: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
