/**
 * @module sim/chat-template
 * A ChatML rendering in the spirit of Qwen2.5's chat template, so chat prompt counts include the
 * template's tokens (roles, separators, the default system prompt, the tool list) the way vLLM's usage
 * does. /tokenize's messages form uses the same rendering, so both counts agree.
 */
import { IM_END, IM_START, isRecord } from './text.js';

const DEFAULT_SYSTEM = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.';

/** The text of a message's content: a string, or the `text` of its parts joined by "\n". */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const part of content) if (isRecord(part) && typeof part.text === 'string') texts.push(part.text);
  return texts.join('\n');
}

export function renderChatPrompt(messages: ReadonlyArray<Record<string, unknown>>, tools: readonly unknown[] | undefined, addGenerationPrompt = true): string {
  const first = messages[0];
  const hasSystem = first?.role === 'system';
  let system = hasSystem ? contentText(first.content) : DEFAULT_SYSTEM;
  if (tools && tools.length > 0) {
    const lines = tools.map((t) => JSON.stringify(isRecord(t) ? (t.function ?? t) : t));
    system += `\n\n# Tools\n\n<tools>\n${lines.join('\n')}\n</tools>`;
  }
  let out = `${IM_START}system\n${system}${IM_END}\n`;
  for (let i = hasSystem ? 1 : 0; i < messages.length; i++) {
    const m = messages[i] as Record<string, unknown>;
    let text = contentText(m.content);
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls) text += `\n<tool_call>\n${JSON.stringify(isRecord(call) ? (call.function ?? call) : call)}\n</tool_call>`;
    }
    out += `${IM_START}${String(m.role)}\n${text}${IM_END}\n`;
  }
  if (addGenerationPrompt) out += `${IM_START}assistant\n`;
  return out;
}
