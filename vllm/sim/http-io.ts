/**
 * @module sim/http-io
 * Small helpers over node:http: reading a request body, writing JSON and error answers the way
 * Starlette does (compact JSON, application/json, a content-length), and the JSON body as FastAPI reads it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, UNSUPPORTED_MEDIA_TYPE, type ErrorShape, type SimError } from './errors.js';
import { validationFailure } from './pydantic.js';

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendError(res: ServerResponse, err: SimError, shape: ErrorShape = 'nested'): void {
  const body = errorBody(err, shape);
  if (body === '') sendEmpty(res, err.status);
  else sendJson(res, err.status, body);
}

/** /health and the empty fault shape: a status and no body at all. */
export function sendEmpty(res: ServerResponse, status: number): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-length': '0' });
  res.end();
}

type JsonRead = { body: unknown; error?: undefined } | { body: undefined; error: SimError };

/** The content-type dependency, then the JSON body, as FastAPI sees them (vllm.md 1.3, 5.2). */
export async function readJson(req: IncomingMessage): Promise<JsonRead> {
  const raw = await readBody(req);
  const mediaType = (req.headers['content-type'] ?? '').toLowerCase().split(';', 1)[0]?.trim();
  if (mediaType !== 'application/json') return { body: undefined, error: UNSUPPORTED_MEDIA_TYPE };
  const text = raw.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    const position = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    const error = validationFailure([{ type: 'json_invalid', loc: ['body', position === undefined ? text.length : Number(position)], msg: 'JSON decode error', input: {} }]);
    return { body: undefined, error };
  }
  // Python's json module gives up past its recursion limit (1000) with a RecursionError, which FastAPI
  // turns into an HTTPException 400 "There was an error parsing the body" (vLLM's handler wraps it in its
  // error shape, like the content-type refusal above): not a validation error, not a crash.
  if (deeperThan(body, PYTHON_RECURSION_LIMIT)) return { body: undefined, error: BODY_PARSE_ERROR };
  return { body };
}

const PYTHON_RECURSION_LIMIT = 990;
const BODY_PARSE_ERROR: SimError = Object.freeze({ status: 400, type: 'Bad Request', message: 'There was an error parsing the body', param: null });

/** True when `value` nests containers more than `max` deep (bounded recursion: at most `max` frames). */
function deeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max <= 0) return true;
  for (const v of Array.isArray(value) ? value : Object.values(value as Record<string, unknown>)) if (deeperThan(v, max - 1)) return true;
  return false;
}
