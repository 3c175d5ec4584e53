/**
 * @module sim/frames
 * SSE events byte-for-byte as vLLM writes them (vllm.md 4): `data: <compact JSON>\n\n`, keys in the
 * order pydantic serialises them, fields never set left out (`exclude_unset`). The constant parts of
 * every event are built once per request, so an event costs a few string concatenations and one
 * JSON.stringify of its text.
 */

import { streamErrorEvent, type SimError } from './errors.js';

export const DONE_EVENT = 'data: [DONE]\n\n';

/**
 * The events of one streamed answer in one API dialect: vLLM's chat/completions chunks (SseFrames) or the
 * Anthropic Messages events vLLM makes of them (anthropic-frames.ts). stream-run.ts drives either; an
 * empty string means "nothing to write for this step".
 */
export interface StreamFrames {
  /** Chat only: the first chunk of each choice. */
  role(index: number, usage: string): string;
  text(index: number, text: string, usage: string): string;
  textFinish(index: number, text: string, reason: string, usage: string, withFingerprint: boolean): string;
  toolStart(index: number, callId: string, name: string, usage: string): string;
  toolArguments(index: number, fragment: string, usage: string): string;
  toolFinish(index: number, fragment: string, reason: string, usage: string, withFingerprint: boolean): string;
  usageChunk(promptTokens: number, completionTokens: number): string;
  /** The end of a complete answer. */
  done(): string;
  /** A failure after the 200 (engine death, a generation error): the last bytes of the stream. */
  failure(err: SimError): string;
  /** For the malformed-line fault: an event cut off in the middle of its JSON. */
  malformed(): string;
}

/** `,"usage":{…}` for chunks that carry usage, in vLLM's key order (prompt, total, completion). */
export function usageField(promptTokens: number, completionTokens: number): string {
  return `,"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens + completionTokens},"completion_tokens":${completionTokens}}`;
}

export class SseFrames implements StreamFrames {
  readonly kind: 'chat' | 'completion';
  readonly #head: string;
  readonly #headNoChoices: string;
  readonly #fingerprint: string;

  constructor(kind: 'chat' | 'completion', id: string, created: number, model: string, fingerprint: string) {
    this.kind = kind;
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    this.#headNoChoices = `data: {"id":${JSON.stringify(id)},"object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":`;
    this.#head = `${this.#headNoChoices}[{"index":`;
    this.#fingerprint = `,"system_fingerprint":${JSON.stringify(fingerprint)}`;
  }

  /** Chat only: the first chunk of each choice; the only one with prompt_token_ids/prompt_text. */
  role(index: number, usage: string): string {
    return `${this.#head}${index},"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${usage},"prompt_token_ids":null,"prompt_text":null}\n\n`;
  }

  text(index: number, text: string, usage: string): string {
    if (this.kind === 'chat') {
      return `${this.#head}${index},"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null,"token_ids":null}]${usage}}\n\n`;
    }
    return `${this.#head}${index},"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":null,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]${usage}}\n\n`;
  }

  /**
   * The finish chunk carries the last text (vLLM sends no separate empty delta, vllm.md 4); the system
   * fingerprint rides on it only when no usage chunk follows.
   */
  textFinish(index: number, text: string, reason: string, usage: string, withFingerprint: boolean): string {
    const fp = withFingerprint && this.kind === 'chat' ? this.#fingerprint : '';
    if (this.kind === 'chat') {
      return `${this.#head}${index},"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":"${reason}","stop_reason":null,"token_ids":null}]${usage}${fp}}\n\n`;
    }
    return `${this.#head}${index},"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":"${reason}","stop_reason":null,"prompt_token_ids":null,"token_ids":null}]${usage}}\n\n`;
  }

  /** Hermes streaming, first tool delta: id, type, name and empty arguments (vllm.md 4). */
  toolStart(index: number, callId: string, name: string, usage: string): string {
    const call = `{"index":0,"id":${JSON.stringify(callId)},"type":"function","function":{"name":${JSON.stringify(name)},"arguments":""}}`;
    return `${this.#head}${index},"delta":{"tool_calls":[${call}]},"logprobs":null,"finish_reason":null,"token_ids":null}]${usage}}\n\n`;
  }

  toolArguments(index: number, fragment: string, usage: string): string {
    return `${this.#head}${index},"delta":{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(fragment)}}}]},"logprobs":null,"finish_reason":null,"token_ids":null}]${usage}}\n\n`;
  }

  /** The last argument fragment travels in the finish chunk, like the last text token. */
  toolFinish(index: number, fragment: string, reason: string, usage: string, withFingerprint: boolean): string {
    const fp = withFingerprint ? this.#fingerprint : '';
    return `${this.#head}${index},"delta":{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(fragment)}}}]},"logprobs":null,"finish_reason":"${reason}","stop_reason":null,"token_ids":null}]${usage}${fp}}\n\n`;
  }

  /** The extra chunk of stream_options.include_usage: no choices, usage, fingerprint (chat). */
  usageChunk(promptTokens: number, completionTokens: number): string {
    const fp = this.kind === 'chat' ? this.#fingerprint : '';
    return `${this.#headNoChoices}[]${usageField(promptTokens, completionTokens)}${fp}}\n\n`;
  }

  done(): string {
    return DONE_EVENT;
  }

  /** vLLM's error event, then [DONE] (vllm.md 4). */
  failure(err: SimError): string {
    return streamErrorEvent(err) + DONE_EVENT;
  }

  /** For the malformed-line fault: an event whose data is cut off in the middle of its JSON. */
  malformed(): string {
    return `${this.#head}0,"delta":{"content":"\n\n`;
  }
}
