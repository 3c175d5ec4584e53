/**
 * @module sim/plan-chat
 * POST /v1/chat/completions: from the parsed JSON body to a generation plan or vLLM's error, in vLLM's
 * order (vllm.md 2.1). The request model's validators (stream_options, logprobs, tools, generation
 * prompt) run inside pydantic in vLLM, so their failures carry type "Bad Request" and the validator's
 * param; the sampling checks run while serving and carry "BadRequestError" (vllm.md 5.2).
 */
import { contentText, renderChatPrompt } from './chat-template.js';
import { badRequest } from './errors.js';
import {
  checkModelAndEngine, checkSampling, checkStreamOptions, choiceSeeds, collectFaults, isTruthy, readFields, readStop, readStreamFlags,
  tokenCap, type PlanContext, type PlanResult, type ToolCallPlan,
} from './plan.js';
import { coerce, missingIssue, modelValidatorIssue, validationFailure, type FieldKind, type PydanticIssue } from './pydantic.js';
import { textSequence } from './prefix-cache.js';
import { isRecord, toolArguments } from './text.js';

const CHAT_FIELDS: ReadonlyArray<readonly [string, FieldKind]> = [
  ['model', 'str'], ['frequency_penalty', 'float'], ['presence_penalty', 'float'], ['logprobs', 'bool'], ['top_logprobs', 'int'],
  ['max_tokens', 'int'], ['max_completion_tokens', 'int'], ['n', 'int'], ['seed', 'int'], ['stream', 'bool'], ['stream_options', 'dict'],
  ['temperature', 'float'], ['top_p', 'float'], ['tools', 'list'], ['parallel_tool_calls', 'bool'], ['top_k', 'int'], ['min_p', 'float'],
  ['repetition_penalty', 'float'], ['min_tokens', 'int'], ['ignore_eos', 'bool'], ['echo', 'bool'], ['add_generation_prompt', 'bool'],
  ['continue_final_message', 'bool'], ['request_id', 'str'], ['user', 'str'],
];

const CORRECT_USAGE = 'Correct usage: `{"type": "function", "function": {"name": "my_function"}}`';
const AUTO_TOOL_CHOICE_DISABLED = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set';

export function planChat(body: unknown, ctx: PlanContext): PlanResult {
  if (!isRecord(body)) {
    return { error: validationFailure([{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }]) };
  }
  const validatorIssue = checkStreamOptions(body) ?? checkLogprobs(body) ?? checkToolUsage(body) ?? checkGenerationPrompt(body);
  if (validatorIssue) return { error: validationFailure([validatorIssue]) };

  const issues: PydanticIssue[] = [];
  const messages = readMessages(body, issues);
  const values = readFields(body, CHAT_FIELDS, issues);
  const stop = readStop(body, issues);
  const flags = readStreamFlags(values, issues);
  const tools = readTools(values.get('tools') as unknown[] | undefined, issues);
  if (issues.length > 0) return { error: validationFailure(issues) };

  const modelError = checkModelAndEngine(values, ctx);
  if (modelError) return { error: modelError };

  // vllm.md 2.2 Tools: tool_choice defaults to "auto" whenever tools are sent.
  const toolChoice = body.tool_choice ?? (tools.length > 0 ? 'auto' : 'none');
  if (toolChoice === 'auto' && tools.length > 0 && !ctx.config.enableAutoToolChoice) return { error: badRequest(AUTO_TOOL_CHOICE_DISABLED) };
  // Qwen's template indexes messages[0]: an empty list fails in jinja, a TemplateError → 400.
  if (messages.length === 0) return { error: badRequest('list object has no element 0') };

  const faults = collectFaults(ctx.config.fault, messages.map((m) => contentText(m.content)));
  if ('status' in faults) return { error: faults };

  const addGenerationPrompt = values.get('add_generation_prompt') !== false;
  const prompt = textSequence(renderChatPrompt(messages, tools.length > 0 ? tools : undefined, addGenerationPrompt), ctx.config.blockSize);
  const promptTokens = prompt.tokens;
  const explicit = (values.get('max_completion_tokens') ?? values.get('max_tokens')) as number | undefined;
  const cap = tokenCap(explicit, [promptTokens], ctx.config.maxModelLen);
  if (typeof cap !== 'number') return { error: cap };
  const topLogprobs = values.get('logprobs') === true ? ((values.get('top_logprobs') as number | undefined) ?? 0) : undefined;
  const samplingError = checkSampling(values, stop, explicit, topLogprobs);
  if (samplingError) return { error: samplingError };

  const seed = contentText((messages[messages.length - 1] as Record<string, unknown>).content);
  const n = (values.get('n') as number | undefined) ?? 1;
  return {
    plan: {
      kind: 'chat',
      dialect: 'openai',
      ...flags,
      promptTokens,
      prompts: [prompt],
      n,
      seeds: choiceSeeds([seed], n),
      maxTokens: cap,
      tool: toolChoice === 'none' || tools.length === 0 ? undefined : toolCallPlan(tools, toolChoice),
      faults,
      bodyRequestId: values.get('request_id') as string | undefined,
    },
  };
}

function readMessages(body: Record<string, unknown>, issues: PydanticIssue[]): Array<Record<string, unknown>> {
  if (!('messages' in body)) {
    issues.push(missingIssue(['body', 'messages']));
    return [];
  }
  const list = coerce(body.messages, 'list', ['body', 'messages'], issues);
  if (!Array.isArray(list)) {
    if (list === null) issues.push({ type: 'list_type', loc: ['body', 'messages'], msg: 'Input should be a valid list', input: null });
    return [];
  }
  const messages: Array<Record<string, unknown>> = [];
  list.forEach((m: unknown, i) => {
    if (!isRecord(m)) {
      issues.push({ type: 'dict_type', loc: ['body', 'messages', i], msg: 'Input should be a valid dictionary', input: m });
      return;
    }
    if (!('role' in m)) issues.push(missingIssue(['body', 'messages', i, 'role']));
    else coerce(m.role, 'str', ['body', 'messages', i, 'role'], issues);
    const c = m.content;
    if (c !== undefined && c !== null && typeof c !== 'string' && !Array.isArray(c)) {
      issues.push({ type: 'string_type', loc: ['body', 'messages', i, 'content'], msg: 'Input should be a valid string', input: c });
    }
    messages.push(m);
  });
  return messages;
}

interface ToolParam {
  name: string;
  parameters: unknown;
}

function readTools(list: unknown[] | undefined, issues: PydanticIssue[]): ToolParam[] {
  const tools: ToolParam[] = [];
  (list ?? []).forEach((t, i) => {
    const loc = ['body', 'tools', i];
    if (!isRecord(t)) {
      issues.push({ type: 'dict_type', loc, msg: 'Input should be a valid dictionary', input: t });
      return;
    }
    if (t.type !== undefined && t.type !== 'function') issues.push({ type: 'literal_error', loc: [...loc, 'type'], msg: "Input should be 'function'", input: t.type });
    if (!isRecord(t.function)) {
      if (t.function === undefined) issues.push(missingIssue([...loc, 'function']));
      else issues.push({ type: 'dict_type', loc: [...loc, 'function'], msg: 'Input should be a valid dictionary', input: t.function });
      return;
    }
    const name = t.function.name;
    if (typeof name !== 'string') {
      if (name === undefined) issues.push(missingIssue([...loc, 'function', 'name']));
      else issues.push({ type: 'string_type', loc: [...loc, 'function', 'name'], msg: 'Input should be a valid string', input: name });
      return;
    }
    tools.push({ name, parameters: t.function.parameters });
  });
  return tools;
}

function toolCallPlan(tools: readonly ToolParam[], toolChoice: unknown): ToolCallPlan {
  const named = isRecord(toolChoice) && isRecord(toolChoice.function) ? toolChoice.function.name : undefined;
  const tool = tools.find((t) => t.name === named) ?? (tools[0] as ToolParam);
  return { name: tool.name, arguments: toolArguments(tool.name, tool.parameters), finishReason: named === undefined ? 'tool_calls' : 'stop' };
}

/** ChatCompletionRequest.check_logprobs (model validator). */
function checkLogprobs(body: Record<string, unknown>): PydanticIssue | undefined {
  const top = body.top_logprobs;
  if (top === undefined || top === null) return undefined;
  if (typeof top !== 'number') return modelValidatorIssue('`top_logprobs` must be an integer.', 'top_logprobs');
  if (top < 0 && top !== -1) return modelValidatorIssue('`top_logprobs` must be a positive value or -1.', 'top_logprobs');
  if ((top === -1 || top > 0) && !isTruthy(body.logprobs)) {
    return modelValidatorIssue('when using `top_logprobs`, `logprobs` must be set to true.', 'top_logprobs');
  }
  return undefined;
}

/** ChatCompletionRequest.check_tool_usage (model validator, vllm.md 2.2). */
function checkToolUsage(body: Record<string, unknown>): PydanticIssue | undefined {
  const tools = body.tools;
  if (Array.isArray(tools) && tools.length === 0) {
    return modelValidatorIssue('`tools` must not be an empty array. Either provide at least one tool or omit the field entirely.', 'tools');
  }
  const choice = 'tool_choice' in body ? body.tool_choice : undefined;
  if (choice === undefined || choice === null || choice === 'none') return undefined;
  if (tools === undefined || tools === null) return modelValidatorIssue('When using `tool_choice`, `tools` must be set.', 'tool_choice');
  if (choice === 'auto' || choice === 'required') return undefined;
  if (!isRecord(choice)) {
    return modelValidatorIssue(`Invalid value for \`tool_choice\`: ${String(choice)}! Only named tools, "none", "auto" or "required" are supported.`, 'tool_choice');
  }
  const fn = choice.function;
  if (!isRecord(fn)) return modelValidatorIssue(`Invalid value for \`function\`: \`${JSON.stringify(fn ?? null)}\` in \`tool_choice\`! ${CORRECT_USAGE}`, 'tool_choice.function');
  if (!('name' in fn)) return modelValidatorIssue(`Expected field \`name\` in \`function\` in \`tool_choice\`! ${CORRECT_USAGE}`, 'tool_choice.function.name');
  if (typeof fn.name !== 'string' || fn.name.length === 0) {
    return modelValidatorIssue(`Invalid \`name\` in \`function\`: \`${String(fn.name)}\` in \`tool_choice\`! ${CORRECT_USAGE}`, 'tool_choice.function.name');
  }
  const names = Array.isArray(tools) ? tools.map((t) => (isRecord(t) && isRecord(t.function) ? t.function.name : undefined)) : [];
  if (!names.includes(fn.name)) return modelValidatorIssue('The tool specified in `tool_choice` does not match any of the specified `tools`', 'tool_choice');
  return undefined;
}

function checkGenerationPrompt(body: Record<string, unknown>): PydanticIssue | undefined {
  if (isTruthy(body.continue_final_message) && isTruthy(body.add_generation_prompt)) {
    return modelValidatorIssue('Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
  }
  return undefined;
}
