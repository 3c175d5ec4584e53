/**
 * @module sim/http-io
 * Small helpers over node:http: reading a request body, writing JSON and error answers the way
 * Starlette does (compact JSON, application/json, a content-length).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, type ErrorShape, type SimError } from './errors.js';

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
