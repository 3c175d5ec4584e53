/**
 * @module surfaces/responses/truncation
 * `truncation: "auto"`: when the prompt would not fit the model's context, drop the oldest turns until it
 * does, as OpenAI documents ("drop items from the beginning of the conversation"). Never dropped: system
 * messages (the instructions among them) and the newest user message with everything after it. A tool
 * result left without its call is dropped with it, or the chat template would see an orphan.
 *
 * The prompt's size is token-estimate.ts's guess (UTF-8 bytes / 4), not vLLM's count; room for the answer
 * is max_output_tokens when given, else none is reserved (vLLM then writes into what is left). When even
 * the protected messages do not fit, the request goes as it is and vLLM answers its context-length error.
 */
import { estimatePromptTokens } from '../../token-estimate.js';
import type { ChatMessage } from './input.js';

export function truncateToFit(
  messages: readonly ChatMessage[],
  tools: unknown[] | undefined,
  contextLength: number,
  reserveTokens: number,
): ChatMessage[] {
  const kept = [...messages];
  const fits = () => estimatePromptTokens({ messages: kept, tools }, 'chat') + reserveTokens <= contextLength;
  const lastUser = () => kept.findLastIndex((m) => m.role === 'user');
  while (!fits()) {
    const protectedFrom = lastUser();
    const victim = kept.findIndex((m, i) => m.role !== 'system' && i < protectedFrom);
    if (victim < 0) break;
    kept.splice(victim, 1);
    // Tool results whose call went with the dropped turn.
    while (kept[victim]?.role === 'tool' && victim < lastUser()) kept.splice(victim, 1);
  }
  return kept;
}
