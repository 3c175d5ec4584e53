/**
 * @module sim/anthropic-frames
 * The Anthropic Messages answers of vLLM's /v1/messages route, byte for byte as vLLM builds them
 * (`vllm/entrypoints/anthropic/serving.py`, `protocol.py`): vLLM runs the request as a chat completion and
 * converts the result.
 *
 * Non-streaming: `model_dump(exclude_none=True)`, so `stop_sequence` and the cache usage fields are left
 * out: `{"id","type":"message","role":"assistant","content":[…],"model","stop_reason","usage":{input_tokens,
 * output_tokens}}`. The id is the chat completion's (`chatcmpl-…`), not `msg_…`. A text block only when
 * the text is not empty; tool calls become `tool_use` blocks with the parsed arguments as `input`.
 *
 * Streaming: `event: <type>\ndata: <json>\n\n`, each event dumped with `exclude_unset`, keys in the order
 * the pydantic model declares them:
 *   message_start (from the role chunk; the message has no `type`/`role` keys, which were never set),
 *   content_block_start + content_block_delta (text_delta / input_json_delta) as non-empty deltas arrive,
 *   content_block_stop + message_delta (stop_reason, usage) on the usage chunk, message_stop on [DONE].
 * vLLM sends no `ping`. stop reasons: stop → end_turn, length → max_tokens, tool_calls → tool_use.
 * A failure after the 200: vLLM's converter cannot parse the chat error event, so it writes one
 * `event: error` with type internal_error and the stream ends without message_stop.
 */
import type { SimError } from './errors.js';
import type { StreamFrames } from './frames.js';
import type { ChoiceResult, ResponseHeader } from './responses.js';

const STOP_REASONS: Readonly<Record<string, string>> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' };

export function anthropicStopReason(finishReason: string): string {
  return STOP_REASONS[finishReason] ?? 'end_turn';
}

function event(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`;
}

export class AnthropicFrames implements StreamFrames {
  readonly #id: string;
  readonly #model: string;
  readonly #promptTokens: number;
  #block: 'text' | 'tool_use' | undefined;
  #blockIndex = 0;
  #finishReason = 'stop';

  constructor(id: string, model: string, promptTokens: number) {
    this.#id = id;
    this.#model = model;
    this.#promptTokens = promptTokens;
  }

  role(): string {
    const message = `{"id":${JSON.stringify(this.#id)},"content":[],"model":${JSON.stringify(this.#model)},"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":${this.#promptTokens},"output_tokens":0}}`;
    return event('message_start', `{"type":"message_start","message":${message}}`);
  }

  text(_index: number, text: string): string {
    if (text === '') return '';
    let out = '';
    if (this.#block !== 'text') out += this.#stopBlock() + this.#startBlock('text', '{"type":"text","text":""}');
    return out + event('content_block_delta', `{"type":"content_block_delta","delta":{"type":"text_delta","text":${JSON.stringify(text)}},"index":${this.#blockIndex}}`);
  }

  textFinish(index: number, text: string, reason: string): string {
    this.#finishReason = reason;
    return this.text(index, text);
  }

  toolStart(_index: number, callId: string, name: string): string {
    return this.#stopBlock() + this.#startBlock('tool_use', `{"type":"tool_use","id":${JSON.stringify(callId)},"name":${JSON.stringify(name)},"input":{}}`);
  }

  toolArguments(_index: number, fragment: string): string {
    if (fragment === '' || this.#block !== 'tool_use') return '';
    return event('content_block_delta', `{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":${JSON.stringify(fragment)}},"index":${this.#blockIndex}}`);
  }

  toolFinish(index: number, fragment: string, reason: string): string {
    this.#finishReason = reason;
    return this.toolArguments(index, fragment);
  }

  usageChunk(promptTokens: number, completionTokens: number): string {
    const delta = `{"type":"message_delta","delta":{"stop_reason":"${anthropicStopReason(this.#finishReason)}"},"usage":{"input_tokens":${promptTokens},"output_tokens":${completionTokens}}}`;
    return this.#stopBlock() + event('message_delta', delta);
  }

  done(): string {
    return event('message_stop', '{"type":"message_stop"}');
  }

  failure(err: SimError): string {
    const message = `3 validation errors for ChatCompletionStreamResponse (the chat stream carried an error: ${err.message})`;
    return event('error', JSON.stringify({ type: 'error', error: { type: 'internal_error', message } }));
  }

  malformed(): string {
    return `event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"\n\n`;
  }

  #startBlock(type: 'text' | 'tool_use', block: string): string {
    this.#block = type;
    return event('content_block_start', `{"type":"content_block_start","content_block":${block},"index":${this.#blockIndex}}`);
  }

  #stopBlock(): string {
    if (this.#block === undefined) return '';
    const out = event('content_block_stop', `{"type":"content_block_stop","index":${this.#blockIndex}}`);
    this.#block = undefined;
    this.#blockIndex++;
    return out;
  }
}

/** The non-streaming answer (one choice: /v1/messages has no `n`). */
export function anthropicMessageBody(h: ResponseHeader, choice: ChoiceResult, promptTokens: number, completionTokens: number): string {
  const content: unknown[] = [];
  if (choice.text !== '') content.push({ type: 'text', text: choice.text });
  if (choice.toolCall) content.push({ type: 'tool_use', id: choice.toolCall.id, name: choice.toolCall.name, input: parseArguments(choice.toolCall.arguments) });
  return JSON.stringify({
    id: h.id,
    type: 'message',
    role: 'assistant',
    content,
    model: h.model,
    stop_reason: anthropicStopReason(choice.finishReason),
    usage: { input_tokens: promptTokens, output_tokens: completionTokens },
  });
}

/** Arguments cut by max_tokens are not JSON; vLLM would fail the request there, the simulator sends {}. */
function parseArguments(args: string): unknown {
  try {
    return JSON.parse(args) as unknown;
  } catch {
    return {};
  }
}
