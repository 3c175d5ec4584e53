/**
 * @module schemas/parsed-request
 * What the inference route gets back from `parseChatRequest` / `parseCompletionRequest`.
 */
import { invalidRequest } from '../errors.js';

export interface ParseLimits {
  /** MAX_TOKENS_LIMIT: a larger max_tokens / max_completion_tokens is a 400 (rejected, not clamped). */
  maxTokensLimit?: number;
  /** A cap on messages.length (chat only). */
  maxMessages?: number;
}

export interface ParsedRequest {
  kind: 'chat' | 'completion';
  /** The normalised JSON object to forward, unknown fields kept. The proxy sets `body.model` itself. */
  body: Record<string, unknown>;
  /** As the client sent it; undefined when absent (or null). */
  model: string | undefined;
  stream: boolean;
  /** The client itself asked for `stream_options.include_usage` (only meaningful when `stream`). */
  clientWantsUsage: boolean;
  /** Effective `max_completion_tokens ?? max_tokens`; completions default to vLLM's 16 (vllm.md 2.3). */
  maxTokens: number | undefined;
  /** From token-estimate.ts, for rate-limit reservations. */
  promptTokensEstimate: number;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body must be a JSON object before any field is looked at. */
export function requireObject(input: unknown): Record<string, unknown> {
  if (!isRecord(input)) throw invalidRequest('Request body must be a JSON object', null, 'invalid_type');
  return input;
}
