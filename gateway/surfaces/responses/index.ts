/**
 * @module surfaces/responses
 * The Responses API surface (issue 12) as translation modules over chat completions; the pipeline
 * wires them. One request:
 *
 *   const prepared = await prepareResponsesRequest(json, { store, owner, defaultModel, contextLength, maxTokensLimit });
 *   // prepared.chat is a ParsedRequest (kind 'chat'): admission, rate limits, routing and the upstream
 *   // call as for /v1/chat/completions (its body already asks vLLM for usage when streaming).
 *   non-streaming:  const response = responseFromChatCompletion(prepared.shell, await upstreamJson);
 *                   await persistResponse(prepared, response, store, owner);   // before answering: 507/503 reach the client
 *                   answer 200 JSON `response`
 *   streaming:      const t = new ResponsesStreamTranslator(prepared.shell);
 *                   write t.start() after vLLM's 200; t.push(chunk) per upstream chunk; t.end() when vLLM's body ends;
 *                   t.fail({code, message}) on a reset/timeout/shutdown/client abort; then
 *                   await persistResponse(prepared, t.response, store, owner) (a failure here is logged: the client has its answer)
 *                   usage for counting: t.usage (vLLM's chat usage), t.finishReason, t.completed
 * Store errors anywhere: stateError(err) → GatewayError 507 store_full / 503 store_unavailable.
 */
export { prepareResponsesRequest, type PrepareOptions, type PreparedResponses } from './request.js';
export { responseFromChatCompletion, responseShell } from './response.js';
export { ResponsesStreamTranslator, type StreamFailure } from './stream.js';
export { persistResponse, stateError } from './persist.js';
export type { ResponseObject } from './types.js';
