/**
 * @module token-estimate
 * A cheap guess of a request's prompt tokens, made before anything goes upstream so the rate limiter
 * can reserve tokens; the real count from vLLM's usage settles the reservation afterwards. It runs on
 * every request, so it reads the body once and never tokenises.
 *
 * Text counts as UTF-8 bytes / 4: that is characters / 4 for English, and about 0.75 per character for
 * CJK text, where a Qwen token holds far fewer characters than in English. Token-id prompts count
 * exactly. Image and other non-text parts are not counted.
 */

/** Qwen's ChatML wraps each message as `<|im_start|>role\n … <|im_end|>\n`. */
const PER_MESSAGE_TOKENS = 4;
/** The `<|im_start|>assistant\n` header the template appends for the answer. */
const REPLY_PRIMING_TOKENS = 3;

function textBytes(value: unknown): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0;
}

function contentBytes(content: unknown): number {
  if (typeof content === 'string') return Buffer.byteLength(content, 'utf8');
  if (!Array.isArray(content)) return 0;
  let bytes = 0;
  for (const part of content) if (typeof part === 'object' && part !== null) bytes += textBytes((part as { text?: unknown }).text);
  return bytes;
}

function toolCallBytes(calls: unknown): number {
  if (!Array.isArray(calls)) return 0;
  let bytes = 0;
  for (const call of calls) {
    const fn = typeof call === 'object' && call !== null ? (call as { function?: unknown }).function : undefined;
    if (typeof fn === 'object' && fn !== null) {
      bytes += textBytes((fn as { name?: unknown }).name) + textBytes((fn as { arguments?: unknown }).arguments);
    }
  }
  return bytes;
}

function chatTokens(body: Record<string, unknown>): number {
  let tokens = REPLY_PRIMING_TOKENS;
  let bytes = 0;
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (const m of messages) {
      if (typeof m !== 'object' || m === null) continue;
      const msg = m as { content?: unknown; name?: unknown; tool_calls?: unknown };
      tokens += PER_MESSAGE_TOKENS;
      bytes += contentBytes(msg.content) + textBytes(msg.name) + toolCallBytes(msg.tool_calls);
    }
  }
  // The chat template writes the tool definitions into the prompt as JSON.
  if (Array.isArray(body.tools) && body.tools.length > 0) bytes += JSON.stringify(body.tools).length;
  return tokens + Math.ceil(bytes / 4);
}

function completionTokens(prompt: unknown): number {
  if (typeof prompt === 'string') return Math.ceil(textBytes(prompt) / 4);
  if (!Array.isArray(prompt)) return 0;
  let tokens = 0;
  for (const p of prompt) {
    if (typeof p === 'number') tokens += 1;
    else if (typeof p === 'string') tokens += Math.ceil(textBytes(p) / 4);
    else if (Array.isArray(p)) tokens += p.length;
  }
  return tokens;
}

/** Estimated prompt tokens of a validated request body. */
export function estimatePromptTokens(body: Record<string, unknown>, kind: 'chat' | 'completion'): number {
  return kind === 'chat' ? chatTokens(body) : completionTokens(body.prompt);
}
