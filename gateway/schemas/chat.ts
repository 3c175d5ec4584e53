/**
 * @module schemas/chat
 * `POST /v1/chat/completions`: the request schema (vllm.md 2.2) and the chat-only rules around
 * messages and tools. Unknown fields pass through untouched, as vLLM accepts them (2.1). The schema is
 * built once at load; per request there is one `safeParse` and a few property reads.
 */
import { z } from 'zod';
import { invalidRequest } from '../errors.js';
import { estimatePromptTokens } from '../token-estimate.js';
import { PARSE_PARAMS, toInvalidRequest } from './issues.js';
import { normaliseShared } from './normalise.js';
import { isRecord, requireObject, type ParseLimits, type ParsedRequest } from './parsed-request.js';
import { intBetween, MAX_LOGPROBS, samplingFields } from './sampling.js';

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

/** Content parts are only checked for a string `type`; what a part carries is vLLM's business. */
const contentPart = z.looseObject({ type: z.string() });

const message = z.looseObject({
  role: z.enum(ROLES),
  content: z.union([z.string(), z.array(contentPart)], { error: 'must be a string, an array of content parts, or null' }).nullish(),
  tool_call_id: z.string().nullish(),
  tool_calls: z.array(z.looseObject({})).nullish(),
  function_call: z.looseObject({}).nullish(),
  name: z.string().nullish(),
});

const tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.looseObject({}).nullish(),
  }),
});

const toolChoice = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string().min(1) }) }),
  ],
  { error: 'must be "none", "auto", "required" or {"type":"function","function":{"name":…}}' },
);

const chatRequest = z.looseObject({
  messages: z.array(message).min(1, 'must contain at least one message'),
  ...samplingFields,
  logprobs: z.boolean().nullish(),
  top_logprobs: intBetween(0, MAX_LOGPROBS),
  tools: z.array(tool).nullish(),
  tool_choice: toolChoice.nullish(),
  continue_final_message: z.boolean().nullish(),
  add_generation_prompt: z.boolean().nullish(),
});

type ChatRequest = z.output<typeof chatRequest>;
type Message = ChatRequest['messages'][number];

function checkMessages(messages: readonly Message[], limits: ParseLimits | undefined): void {
  const max = limits?.maxMessages;
  if (max !== undefined && messages.length > max) {
    throw invalidRequest(`messages accepts at most ${max} messages on this gateway`, 'messages', 'invalid_value');
  }
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Message;
    if (m.content == null) {
      const callsTools = (m.tool_calls != null && m.tool_calls.length > 0) || m.function_call != null;
      if (m.role !== 'assistant' || !callsTools) {
        throw invalidRequest(
          `messages[${i}].content is required (only an assistant message with tool_calls or function_call may omit it)`,
          `messages[${i}].content`,
          'missing_field',
        );
      }
    }
    if (m.role === 'tool' && m.tool_call_id == null) {
      throw invalidRequest(`messages[${i}].tool_call_id is required for tool messages`, `messages[${i}].tool_call_id`, 'missing_field');
    }
  }
}

/**
 * `tools: []` is a 400 in vLLM since #39780 (vllm.md 9 rule 4) while older servers and OpenAI clients
 * treat it as "no tools": we remove it. A "none"/"auto" tool_choice then has nothing to choose from and
 * goes too; "required" or a named function without tools cannot be honoured and is refused, as vLLM does.
 */
function normaliseTools(body: Record<string, unknown>, data: ChatRequest): void {
  let tools = data.tools;
  if (tools != null && tools.length === 0) {
    delete body.tools;
    tools = undefined;
  }
  const choice = data.tool_choice;
  if (choice == null) return;
  if (tools == null) {
    if (choice === 'none' || choice === 'auto') {
      delete body.tool_choice;
      return;
    }
    throw invalidRequest('tool_choice "required" or a named function needs a non-empty tools array', 'tool_choice', 'invalid_value');
  }
  if (isRecord(choice)) {
    const name = choice.function.name;
    if (!tools.some((t) => t.function.name === name)) {
      throw invalidRequest('tool_choice.function.name does not match the name of any function in tools', 'tool_choice.function.name', 'invalid_value');
    }
  }
}

function checkChatOptions(data: ChatRequest): void {
  if (typeof data.top_logprobs === 'number' && data.top_logprobs > 0 && data.logprobs !== true) {
    throw invalidRequest('top_logprobs requires logprobs to be true', 'top_logprobs', 'invalid_value');
  }
  if (data.continue_final_message === true && data.add_generation_prompt === true) {
    throw invalidRequest('continue_final_message and add_generation_prompt cannot both be true', 'continue_final_message', 'invalid_value');
  }
}

/** Validates and normalises a chat request; throws the GatewayError 400 for the first problem found. */
export function parseChatRequest(input: unknown, limits?: ParseLimits): ParsedRequest {
  const result = chatRequest.safeParse(requireObject(input), PARSE_PARAMS);
  if (!result.success) throw toInvalidRequest(result.error.issues);
  const data = result.data;
  const body: Record<string, unknown> = data;

  checkMessages(data.messages, limits);
  checkChatOptions(data);
  normaliseTools(body, data);
  const { stream, clientWantsUsage } = normaliseShared(body, limits);
  return {
    kind: 'chat',
    body,
    model: data.model ?? undefined,
    stream,
    clientWantsUsage,
    maxTokens: data.max_completion_tokens ?? data.max_tokens ?? undefined,
    promptTokensEstimate: estimatePromptTokens(body, 'chat'),
  };
}
