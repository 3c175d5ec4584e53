/**
 * @module proxy/anthropic-usage
 * Reads a side view of vLLM's Anthropic Messages answers (`/v1/messages`): usage, the stop reason, vLLM's
 * own error event and `message_stop`, without re-serialising a byte that goes to the client.
 *
 * vLLM frames the stream as `event: <type>\ndata: <compact JSON>\n\n` and sends no `ping`
 * (`vllm/entrypoints/anthropic/serving.py`, vllm.md 1.2). Usage comes in two parts:
 * `message_start.message.usage.input_tokens` first, `message_delta.usage.output_tokens` (with
 * `delta.stop_reason`) last; `message_stop` marks a clean end. We forward whole events only, so an error
 * event appended after a failure never lands inside half an event.
 *
 * Cost per chunk. Almost every event is a `content_block_*` one, recognised by the seven bytes
 * `event: c` at its start, so a chunk costs one `indexOf` of the event end per event and no parsing.
 * JSON is parsed only for `message_start`, `message_delta` and `error`: about twice per stream.
 */
import { lastObjectAt } from './json-usage.js';
import type { Usage } from './sse-usage.js';

const EVENT_END = Buffer.from('\n\n');
const EVENT_LINE = Buffer.from('event: ');
const DATA_LINE = Buffer.from('data:');
const USAGE_KEY = Buffer.from('"usage":{');
const STOP_KEY = Buffer.from('"stop_reason":"');
const LF = 0x0a;
const COLON = 0x3a;
/** First letters of the event types nobody reads: content_block_start/delta/stop, ping. */
const SKIPPED_TYPE_START = new Set([0x63, 0x70]);

/** Anthropic's stop reasons in the OpenAI words the other surfaces log (finishReason in the request line). */
const FINISH_REASONS: Readonly<Record<string, string>> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls' };

export function finishReasonOf(stopReason: string): string {
  return FINISH_REASONS[stopReason] ?? stopReason;
}

export class AnthropicSseScanner {
  usage: Usage | undefined;
  finishReason: string | undefined;
  /** Message of an `event: error` that vLLM wrote after its 200; the event itself is not forwarded. */
  upstreamError: string | undefined;
  sawStop = false;
  #inputTokens: number | undefined;
  #tail: Buffer | undefined;

  /** True when no partial event is held back: bytes written now cannot land inside an event. */
  get atEventBoundary(): boolean {
    return this.#tail === undefined;
  }

  /** Takes the next upstream chunk; returns the whole events to forward now (undefined: nothing yet). */
  push(chunk: Buffer): Buffer | undefined {
    let data = chunk;
    if (this.#tail) {
      data = Buffer.concat([this.#tail, chunk]);
      this.#tail = undefined;
    }
    const n = data.length;
    if (n >= 2 && data[n - 1] === LF && data[n - 2] === LF) return this.#inspect(data);
    const lastEnd = data.lastIndexOf(EVENT_END);
    if (lastEnd === -1) {
      this.#tail = data;
      return undefined;
    }
    const cut = lastEnd + EVENT_END.length;
    this.#tail = data.subarray(cut);
    return this.#inspect(data.subarray(0, cut));
  }

  /** vLLM's body ended: the unterminated last event, if any, read as if it were whole. */
  flush(): Buffer | undefined {
    const tail = this.#tail;
    this.#tail = undefined;
    return tail && tail.length > 0 ? this.#inspect(tail) : undefined;
  }

  #inspect(events: Buffer): Buffer {
    let kept: Buffer[] | undefined;
    let pos = 0;
    while (pos < events.length) {
      const end = events.indexOf(EVENT_END, pos);
      const next = end === -1 ? events.length : end + EVENT_END.length;
      const drop = this.#skippable(events, pos) ? false : this.#read(events.subarray(pos, next));
      if (drop) kept ??= pos > 0 ? [events.subarray(0, pos)] : [];
      else if (kept) kept.push(events.subarray(pos, next));
      pos = next;
    }
    return kept ? Buffer.concat(kept) : events;
  }

  /** `event: content_block_…` / `event: ping` and `:` comments carry nothing we count. */
  #skippable(events: Buffer, pos: number): boolean {
    if (events[pos] === COLON) return true;
    const type = events[pos + EVENT_LINE.length];
    return type !== undefined && SKIPPED_TYPE_START.has(type) && events.compare(EVENT_LINE, 0, EVENT_LINE.length, pos, pos + EVENT_LINE.length) === 0;
  }

  /** One event that may carry usage, the stop or an error; true when it is not to be forwarded. */
  #read(event: Buffer): boolean {
    const named = eventType(event);
    if (named === 'message_stop') {
      this.sawStop = true;
      return false;
    }
    const data = eventData(event);
    const type = named ?? (isRecord(data) && typeof data.type === 'string' ? data.type : undefined);
    switch (type) {
      case 'message_start': {
        const usage = isRecord(data) && isRecord(data.message) ? data.message.usage : undefined;
        if (isRecord(usage) && typeof usage.input_tokens === 'number') this.#inputTokens = usage.input_tokens;
        return false;
      }
      case 'message_delta': {
        if (!isRecord(data)) return false;
        const stop = isRecord(data.delta) ? data.delta.stop_reason : undefined;
        if (typeof stop === 'string') this.finishReason = finishReasonOf(stop);
        const usage = toUsage(data.usage, this.#inputTokens);
        if (usage) this.usage = usage;
        return false;
      }
      case 'message_stop':
        this.sawStop = true;
        return false;
      case 'error': {
        const err = isRecord(data) ? data.error : undefined;
        const message = isRecord(err) && typeof err.message === 'string' ? err.message : undefined;
        this.upstreamError = message ? message.slice(0, 500) : 'error event without a message';
        // vLLM's error event names its internal type and a validation dump; the surface writes its own.
        return true;
      }
      default:
        return false;
    }
  }
}

function eventType(event: Buffer): string | undefined {
  if (event.compare(EVENT_LINE, 0, EVENT_LINE.length, 0, EVENT_LINE.length) !== 0) return undefined;
  const eol = event.indexOf(LF);
  return event.toString('latin1', EVENT_LINE.length, eol === -1 ? event.length : eol).trim();
}

function eventData(event: Buffer): unknown {
  const at = event.indexOf(DATA_LINE);
  if (at === -1) return undefined;
  const eol = event.indexOf(LF, at);
  try {
    return JSON.parse(event.toString('utf8', at + DATA_LINE.length, eol === -1 ? event.length : eol)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Usage of an Anthropic answer in the gateway's terms. `message_delta` carries output_tokens (and, from
 * vLLM, input_tokens again); input_tokens falls back to the one `message_start` gave.
 */
function toUsage(value: unknown, inputFallback?: number): Usage | undefined {
  if (!isRecord(value) || typeof value.output_tokens !== 'number') return undefined;
  const input = typeof value.input_tokens === 'number' ? value.input_tokens : inputFallback;
  if (input === undefined) return undefined;
  return { prompt_tokens: input, completion_tokens: value.output_tokens, total_tokens: input + value.output_tokens };
}

/**
 * Usage and finish reason of a non-streaming message (`{…,"stop_reason":…,"usage":{input_tokens,
 * output_tokens}}`), read from the bytes: `usage` and `stop_reason` come after `content`, so the last
 * occurrence of each key is the message's own, whatever a tool_use input holds. Only that slice is parsed.
 */
export function readAnthropicMessage(body: Buffer): { usage?: Usage | undefined; finishReason?: string | undefined } {
  const usage = toUsage(lastObjectAt(body, USAGE_KEY));
  const stop = body.lastIndexOf(STOP_KEY);
  const stopEnd = stop === -1 ? -1 : body.indexOf(0x22, stop + STOP_KEY.length);
  const finishReason = stopEnd === -1 ? undefined : finishReasonOf(body.toString('latin1', stop + STOP_KEY.length, stopEnd));
  return { usage, finishReason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
