/**
 * @module proxy/read-body
 * Reads a JSON request body straight from Node's request stream, bounded by MAX_BODY_BYTES. vLLM has
 * no body limit of its own (vllm.md 1.3), so this is the only one.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError, invalidRequest } from '../errors.js';
import { checkJsonDepth } from './json-depth.js';

/** MAX_JSON_DEPTH's default, for readers that do not pass the configured one. */
const DEFAULT_MAX_DEPTH = 64;

export function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, `Request body is larger than ${limit} bytes.`, {
    type: 'invalid_request_error',
    code: 'request_too_large',
    // The rest of the body is left unread, so this connection cannot be reused.
    headers: { connection: 'close' },
  });
}

/** vLLM answers 400 (not 415) for a non-JSON content type (vllm.md 1.3); we do the same, with a clearer message. */
export function checkJsonContentType(contentType: string | undefined): void {
  const type = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw invalidRequest(`Content-Type must be application/json (got ${type ? `"${type.slice(0, 60)}"` : 'none'}).`, null, 'invalid_content_type');
  }
}

/** The parsed body, refused (400) when nested deeper than `maxDepth`: no later walk over it can overflow the stack. */
export function readJsonBody(req: IncomingMessage, limit: number, maxDepth = DEFAULT_MAX_DEPTH): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (raw.length === 0) return reject(invalidRequest('Request body is empty; send a JSON object.', null, 'invalid_json'));
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        return reject(invalidRequest('Request body is not valid JSON.', null, 'invalid_json'));
      }
      try {
        checkJsonDepth(json, maxDepth);
      } catch (err) {
        return reject(err);
      }
      resolve(json);
    };
    const onError = () => {
      cleanup();
      reject(invalidRequest('The request body could not be read.', null, 'invalid_body'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
