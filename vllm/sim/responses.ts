/**
 * @module sim/responses
 * Non-streaming JSON bodies in vLLM's shapes (vllm.md 3): chat and completions serialised with every
 * field present (null where unset), usage always present, and the /v1/models list (3.4).
 */
import { randomBytes } from 'node:crypto';
import type { SimConfig } from './options.js';
import { SIM_VLLM_VERSION } from './options.js';
import { fnv1a } from './text.js';

export interface ToolCallResult {
  id: string;
  name: string;
  arguments: string;
}

export interface ChoiceResult {
  index: number;
  text: string;
  toolCall: ToolCallResult | undefined;
  finishReason: string;
}

export interface ResponseHeader {
  id: string;
  created: number;
  model: string;
  fingerprint: string;
}

/** `vllm-<version>-<hash8>`, the "full" fingerprint mode without parallelism (vllm.md 3.1). */
export function systemFingerprint(config: SimConfig): string {
  const hash8 = fnv1a(`${config.model}|${config.maxModelLen}|${config.maxNumSeqs}`).toString(16).padStart(8, '0');
  return `vllm-${SIM_VLLM_VERSION}-${hash8}`;
}

/** 16 hex characters, vLLM's random_uuid() since v0.12 (vllm.md 3.1). */
export function randomHex16(): string {
  return randomBytes(8).toString('hex');
}

function usage(promptTokens: number, completionTokens: number) {
  return { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens, prompt_tokens_details: null };
}

export function chatCompletionBody(h: ResponseHeader, choices: readonly ChoiceResult[], promptTokens: number, completionTokens: number): string {
  return JSON.stringify({
    id: h.id,
    object: 'chat.completion',
    created: h.created,
    model: h.model,
    choices: choices.map((c) => ({
      index: c.index,
      message: {
        role: 'assistant',
        // vllm.md 3.1: with a tool call the content holds the text before <tool_call>, here none.
        content: c.toolCall ? null : c.text,
        refusal: null,
        annotations: null,
        audio: null,
        function_call: null,
        // Omitted when empty since #44105 (vllm.md 3.1).
        ...(c.toolCall ? { tool_calls: [{ id: c.toolCall.id, type: 'function', function: { name: c.toolCall.name, arguments: c.toolCall.arguments } }] } : {}),
        reasoning: null,
      },
      logprobs: null,
      finish_reason: c.finishReason,
      stop_reason: null,
      token_ids: null,
      routed_experts: null,
    })),
    service_tier: null,
    system_fingerprint: h.fingerprint,
    usage: usage(promptTokens, completionTokens),
    prompt_logprobs: null,
    prompt_token_ids: null,
    prompt_text: null,
    kv_transfer_params: null,
    ec_transfer_params: null,
    metrics: null,
  });
}

export function completionBody(h: ResponseHeader, choices: readonly ChoiceResult[], promptTokens: number, completionTokens: number): string {
  return JSON.stringify({
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: choices.map((c) => ({
      index: c.index,
      text: c.text,
      logprobs: null,
      finish_reason: c.finishReason,
      stop_reason: null,
      token_ids: null,
      prompt_logprobs: null,
      prompt_token_ids: null,
    })),
    service_tier: null,
    system_fingerprint: h.fingerprint,
    usage: usage(promptTokens, completionTokens),
    kv_transfer_params: null,
  });
}

/** One card per served name, all with `root` = --model; `created` is the time of the request. */
export function modelsBody(config: SimConfig): string {
  const created = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    object: 'list',
    data: config.servedModelNames.map((id) => ({
      id,
      object: 'model',
      created,
      owned_by: 'vllm',
      root: config.model,
      parent: null,
      max_model_len: config.maxModelLen,
      permission: [
        {
          id: `modelperm-${randomHex16()}`,
          object: 'model_permission',
          created,
          allow_create_engine: false,
          allow_sampling: true,
          allow_logprobs: true,
          allow_search_indices: false,
          allow_view: true,
          allow_fine_tuning: false,
          organization: '*',
          group: null,
          is_blocking: false,
        },
      ],
    })),
  });
}
