/**
 * @module proxy/json-usage
 * Usage and finish reason of a non-streaming OpenAI-shaped answer (vllm.md 3.1-3.3), read from the bytes
 * without parsing the whole body: `usage` is a small flat object near the end (`prompt_tokens_details`
 * may nest one level), so only that slice is parsed. Unknown when it is not there or not JSON.
 */
import { toUsage, type Usage } from './sse-usage.js';

const USAGE_KEY = Buffer.from('"usage":{');
const FINISH_KEY = Buffer.from('"finish_reason":"');

export function readCompletion(body: Buffer): { usage?: Usage; finishReason?: string } {
  const usage = toUsage(lastObjectAt(body, USAGE_KEY));
  const fr = body.indexOf(FINISH_KEY);
  const frEnd = fr === -1 ? -1 : body.indexOf(0x22, fr + FINISH_KEY.length);
  return { usage, finishReason: frEnd === -1 ? undefined : body.toString('latin1', fr + FINISH_KEY.length, frEnd) };
}

/**
 * The small JSON object after the last occurrence of `key` (which ends with `{`), parsed alone: for
 * `"usage":{...}` near the end of a large answer. Undefined when absent or not JSON.
 */
export function lastObjectAt(body: Buffer, key: Buffer): unknown {
  const at = body.lastIndexOf(key);
  if (at === -1) return undefined;
  const start = at + key.length - 1;
  let depth = 0;
  for (let i = start; i < body.length; i++) {
    const b = body[i];
    if (b === 0x7b) depth++;
    else if (b === 0x7d && --depth === 0) {
      try {
        return JSON.parse(body.toString('utf8', start, i + 1)) as unknown;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
