/**
 * @module bench/sse-timing
 * Times the tokens of an OpenAI-style SSE stream as the client receives them. Chunks arrive with a
 * receive time; the scanner splits them into lines (an event may straddle two chunks), and each `data:`
 * line that carries generated text is one token event, timed at the arrival of the chunk that completed
 * it. Several events in one chunk share a time, so a proxy that batches tokens shows as zero gaps followed
 * by a long one, which is what the inter-token gap p99 is meant to catch.
 *
 * Only ASCII markers are searched, so chunks may be decoded as latin1 (cheap, and never splits a
 * character in a way that matters here). A token event is a `data:` line whose delta holds a non-empty
 * `content`, `text` (completions) or tool-call `arguments`; vLLM's first chunk (`"content":""` with the
 * role) is not one.
 */

const TOKEN_MARKERS = ['"content":"', '"text":"', '"arguments":"'] as const;

/** True when an SSE `data:` payload carries generated text. */
export function isTokenPayload(payload: string): boolean {
  for (const marker of TOKEN_MARKERS) {
    let at = payload.indexOf(marker);
    while (at >= 0) {
      const next = payload.charCodeAt(at + marker.length);
      if (!Number.isNaN(next) && next !== 0x22 /* '"' */) return true;
      at = payload.indexOf(marker, at + marker.length);
    }
  }
  return false;
}

/** completion_tokens of a usage chunk, or undefined when the payload has no usage. */
export function usageCompletionTokens(payload: string): number | undefined {
  const usage = payload.indexOf('"usage":{');
  if (usage < 0) return undefined;
  const m = /"completion_tokens":(\d+)/.exec(payload.slice(usage));
  return m ? Number(m[1]) : undefined;
}

export type SseDialect = 'chat' | 'responses';

/** The `type` of a Responses event payload (`{"type":"response.output_text.delta",...}`), or ''. */
export function responsesEventType(payload: string): string {
  if (!payload.startsWith('{"type":"')) return '';
  const end = payload.indexOf('"', 9);
  return end < 0 ? '' : payload.slice(9, end);
}

export class SseTimer {
  #rest = '';
  #onToken: (at: number) => void;
  #dialect: SseDialect;
  /** Token events seen. */
  tokenEvents = 0;
  firstTokenAt: number | undefined;
  /** completion_tokens from the usage chunk, when the stream carried one. */
  completionTokens: number | undefined;
  /** `data: [DONE]` arrived. */
  done = false;
  /** An in-stream error event arrived (`data: {"error":...}`). */
  errorEvent = false;

  /** `onToken` is called once per token event with the receive time of its chunk. */
  constructor(onToken: (at: number) => void = () => {}, dialect: SseDialect = 'chat') {
    this.#onToken = onToken;
    this.#dialect = dialect;
  }

  feed(chunk: string, at: number): void {
    const text = this.#rest.length > 0 ? this.#rest + chunk : chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
      this.#line(text, start, end, at);
      start = nl + 1;
    }
    this.#rest = start === text.length ? '' : text.slice(start);
  }

  #line(text: string, start: number, end: number, at: number): void {
    if (end - start < 5 || !text.startsWith('data:', start)) return;
    let from = start + 5;
    if (text.charCodeAt(from) === 0x20) from++;
    const payload = text.slice(from, end);
    if (this.#dialect === 'responses') {
      this.#responsesEvent(payload, at);
      return;
    }
    if (payload === '[DONE]') {
      this.done = true;
      return;
    }
    if (payload.startsWith('{"error"')) {
      this.errorEvent = true;
      return;
    }
    if (isTokenPayload(payload)) {
      this.#token(at);
      return;
    }
    const completion = usageCompletionTokens(payload);
    if (completion !== undefined) this.completionTokens = completion;
  }

  #responsesEvent(payload: string, at: number): void {
    const type = responsesEventType(payload);
    if (type === 'response.output_text.delta') {
      if (payload.includes('"delta":""')) return;
      this.#token(at);
    } else if (type === 'response.completed' || type === 'response.incomplete') {
      this.done = true;
      const m = /"output_tokens":(\d+)/.exec(payload);
      if (m) this.completionTokens = Number(m[1]);
    } else if (type === 'response.failed' || type === 'error') {
      this.errorEvent = true;
    }
  }

  #token(at: number): void {
    this.tokenEvents++;
    if (this.firstTokenAt === undefined) this.firstTokenAt = at;
    this.#onToken(at);
  }
}
