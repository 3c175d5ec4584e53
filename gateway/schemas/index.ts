/**
 * @module schemas
 * Request validation and normalisation for the inference routes: what the route handler imports.
 */
export { parseChatRequest } from './chat.js';
export { parseCompletionRequest } from './completion.js';
export type { ParseLimits, ParsedRequest } from './parsed-request.js';
