/**
 * @module proxy/sse-usage
 * Reads a side view of vLLM's SSE bytes: usage, finish reason, in-stream errors and the `[DONE]` marker,
 * and decides which bytes go to the client. The bytes themselves are never re-serialised.
 *
 * vLLM frames every event as `data: <compact JSON>\n\n` with no comments or `event:` lines
 * (vllm.md 4), so an event ends at the first blank line. We forward whole events only: a chunk that
 * ends mid-event keeps its tail until the rest arrives. That lets us (a) drop the usage-only chunk that
 * the gateway asked for on the client's behalf, and (b) append an error event after a failure without
 * ever splicing it into half an event.
 *
 * Cost per chunk. Almost every chunk of a stream is a content event, and vLLM's content events end in
 * `]}` (the `choices` array closes the object, vllm.md 4). A chunk whose bytes end in `]}\n\n` cannot
 * hold the usage-only chunk, an error event or `[DONE]` (those come last and end otherwise), so it is
 * forwarded after a four-byte check. Every other chunk (the role chunk, the last few) is scanned with
 * `Buffer.indexOf`; JSON is parsed only for the usage event and error events. The finish reason of a
 * fast-path chunk is read once, at the end, from the last content chunk. (The scans on every chunk were
 * a fifth of the gateway's CPU when streaming, in the benchmark profile.)
 */

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const EVENT_END = Buffer.from('\n\n');
const USAGE = Buffer.from('"usage":{');
const FINISH = Buffer.from('"finish_reason":"');
const ERROR_EVENT = Buffer.from('data: {"error":');
const DONE = Buffer.from('data: [DONE]');
const EMPTY_CHOICES = Buffer.from('"choices":[]');
const QUOTE = 0x22;
const LF = 0x0a;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

export class SseUsageScanner {
  usage: Usage | undefined;
  finishReason: string | undefined;
  /** Message of a `data: {"error":...}` event sent by vLLM after its 200 (vllm.md 4, "Errors after the 200"). */
  upstreamError: string | undefined;
  sawDone = false;
  #tail: Buffer | undefined;
  /** The last chunk that took the fast path: the finish event is in it when no later chunk had one. */
  #lastContent: Buffer | undefined;
  readonly #dropUsageChunk: boolean;

  /** @param dropUsageChunk the client did not ask for usage, so the `choices: []` usage chunk is ours to remove. */
  constructor(dropUsageChunk: boolean) {
    this.#dropUsageChunk = dropUsageChunk;
  }

  /** True when no partial event is held back: bytes written now cannot land inside an event. */
  get atEventBoundary(): boolean {
    return this.#tail === undefined;
  }

  /** Takes the next upstream chunk; returns the bytes to forward now (undefined: nothing yet). */
  push(chunk: Buffer): Buffer | undefined {
    let data = chunk;
    if (this.#tail) {
      data = Buffer.concat([this.#tail, chunk]);
      this.#tail = undefined;
    }
    const n = data.length;
    const endsEvent = n >= 2 && data[n - 1] === LF && data[n - 2] === LF;
    if (endsEvent && n >= 4 && data[n - 3] === CLOSE_BRACE && data[n - 4] === CLOSE_BRACKET) {
      this.#lastContent = data;
      return data;
    }
    this.#readLastContent();
    if (endsEvent) return this.#inspect(data);
    const lastEnd = data.lastIndexOf(EVENT_END);
    if (lastEnd === -1) {
      this.#tail = data;
      return undefined;
    }
    const cut = lastEnd + EVENT_END.length;
    if (cut < data.length) this.#tail = data.subarray(cut);
    const complete = cut < data.length ? data.subarray(0, cut) : data;
    return this.#inspect(complete);
  }

  /** Whatever is left when the upstream ends (an unterminated last event): forwarded as it is. */
  flush(): Buffer | undefined {
    const tail = this.#tail;
    this.#tail = undefined;
    this.#readLastContent();
    if (tail) this.#inspect(tail);
    return tail;
  }

  /** Reads the finish reason of the last fast-path chunk before a later chunk is inspected. */
  #readLastContent(): void {
    const last = this.#lastContent;
    if (!last) return;
    this.#lastContent = undefined;
    this.#readFinish(last);
  }

  #readFinish(events: Buffer): void {
    const finish = events.lastIndexOf(FINISH);
    if (finish === -1) return;
    const start = finish + FINISH.length;
    const end = events.indexOf(QUOTE, start);
    if (end !== -1) this.finishReason = events.toString('latin1', start, end);
  }

  #inspect(events: Buffer): Buffer {
    this.#readFinish(events);
    if (events.indexOf(DONE) !== -1) this.sawDone = true;
    const hasUsage = events.indexOf(USAGE) !== -1;
    const hasError = events.indexOf(ERROR_EVENT) !== -1;
    if (!hasUsage && !hasError) return events;
    return this.#inspectEvents(events);
  }

  /** Slow path, once or twice per stream: walk the events one by one. */
  #inspectEvents(events: Buffer): Buffer {
    let kept: Buffer[] | undefined;
    let pos = 0;
    while (pos < events.length) {
      const end = events.indexOf(EVENT_END, pos);
      const next = end === -1 ? events.length : end + EVENT_END.length;
      const event = events.subarray(pos, next);
      let drop = false;
      if (event.indexOf(ERROR_EVENT) === 0) {
        this.upstreamError = readErrorMessage(event);
      } else if (event.indexOf(USAGE) !== -1) {
        const usage = readUsage(event);
        if (usage) this.usage = usage;
        // With continuous_usage_stats every chunk has usage; only the final `choices: []` chunk is ours to drop.
        drop = this.#dropUsageChunk && event.indexOf(EMPTY_CHOICES) !== -1;
      }
      if (drop) {
        kept ??= pos > 0 ? [events.subarray(0, pos)] : [];
      } else if (kept) {
        kept.push(event);
      }
      pos = next;
    }
    return kept ? Buffer.concat(kept) : events;
  }
}

function eventJson(event: Buffer): unknown {
  const text = event.toString('utf8').trim();
  return JSON.parse(text.startsWith('data:') ? text.slice(5) : text) as unknown;
}

function readUsage(event: Buffer): Usage | undefined {
  try {
    const parsed = eventJson(event) as { usage?: Partial<Usage> | null };
    return toUsage(parsed.usage);
  } catch {
    return undefined;
  }
}

function readErrorMessage(event: Buffer): string {
  try {
    const parsed = eventJson(event) as { error?: { message?: unknown } | string };
    const err = parsed.error;
    if (typeof err === 'string') return err;
    return typeof err?.message === 'string' && err.message ? err.message : 'error event without a message';
  } catch {
    return 'unparseable error event';
  }
}

/** Usage as vLLM reports it (vllm.md 3.3); anything that is not three numbers counts as unknown. */
export function toUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const u = value as Record<string, unknown>;
  if (typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return undefined;
  const total = typeof u.total_tokens === 'number' ? u.total_tokens : u.prompt_tokens + u.completion_tokens;
  return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: total };
}
