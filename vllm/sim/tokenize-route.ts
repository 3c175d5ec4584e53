/**
 * @module sim/tokenize-route
 * POST /tokenize (vllm.md 1.2, not guarded by --api-key): `{model?, prompt, add_special_tokens,
 * return_token_strs}` or `{model?, messages, add_generation_prompt, tools}` →
 * `{"count","max_model_len","tokens","token_strs"}`, with the simulator's tokenizer approximation
 * (text.ts). The messages form renders the same template as chat, so its count equals a chat request's
 * prompt_tokens.
 */
import { renderChatPrompt } from './chat-template.js';
import type { SimError } from './errors.js';
import { modelNotFound } from './errors.js';
import type { SimConfig } from './options.js';
import { coerce, missingIssue, validationFailure, type PydanticIssue } from './pydantic.js';
import { isRecord, tokenize } from './text.js';

export function tokenizeBody(body: unknown, config: SimConfig): { status: 200; json: string } | { status: number; error: SimError } {
  if (!isRecord(body)) {
    const error = validationFailure([{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }]);
    return { status: 400, error };
  }
  const issues: PydanticIssue[] = [];
  const model = coerce(body.model ?? null, 'str', ['body', 'model'], issues);
  const returnStrs = coerce(body.return_token_strs ?? null, 'bool', ['body', 'return_token_strs'], issues) === true;
  let text = '';
  if ('messages' in body) {
    const messages = coerce(body.messages, 'list', ['body', 'messages'], issues);
    const tools = coerce(body.tools ?? null, 'list', ['body', 'tools'], issues);
    const addGenerationPrompt = coerce(body.add_generation_prompt ?? null, 'bool', ['body', 'add_generation_prompt'], issues) !== false;
    if (Array.isArray(messages)) {
      const valid = messages.filter(isRecord);
      if (valid.length !== messages.length) issues.push({ type: 'dict_type', loc: ['body', 'messages'], msg: 'Input should be a valid dictionary', input: messages });
      text = renderChatPrompt(valid, Array.isArray(tools) ? tools : undefined, addGenerationPrompt);
    }
  } else if ('prompt' in body) {
    const prompt = coerce(body.prompt, 'str', ['body', 'prompt'], issues);
    if (typeof prompt === 'string') text = prompt;
  } else {
    issues.push(missingIssue(['body', 'prompt']));
  }
  if (issues.length > 0) return { status: 400, error: validationFailure(issues) };
  if (typeof model === 'string' && !config.servedModelNames.includes(model)) return { status: 404, error: modelNotFound(model) };
  const { ids, pieces } = tokenize(text);
  return {
    status: 200,
    json: JSON.stringify({ count: ids.length, max_model_len: config.maxModelLen, tokens: ids, token_strs: returnStrs ? pieces : null }),
  };
}
