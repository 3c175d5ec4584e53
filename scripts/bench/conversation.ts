/**
 * @module bench/conversation
 * The sessions of issue 10's affinity scenario: a chat that re-sends its whole history every turn, as
 * chat clients do. A session's first request is a system prompt of `prefixWords` words unique to the
 * session (about one simulator token per word: the simulator's tokenizer counts a run of letters as one
 * token) and a user turn; every next request is the previous messages, an assistant answer and a new user
 * turn. So each request's prompt begins with the whole prompt of the request before it, which is what a
 * prefix cache can reuse if the request lands on the same backend.
 */
import type { ConversationSpec } from './load-protocol.js';

const WORDS = ['harbour', 'lantern', 'keeper', 'tide', 'gull', 'rope', 'signal', 'storm', 'island', 'beacon', 'ledger', 'pier', 'salt', 'fog', 'anchor', 'shore'] as const;

/** `n` words chosen by a xorshift generator seeded from `seed`: the same seed gives the same words. */
export function seededWords(seed: string, n: number): string {
  let x = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) x = Math.imul(x ^ seed.charCodeAt(i), 0x01000193);
  x = x >>> 0 || 0x9e3779b9;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(WORDS[x % WORDS.length] as string);
  }
  return out.join(' ');
}

type Message = { role: 'system' | 'user' | 'assistant'; content: string };

/** One connection's run of sessions; `next()` gives the request for the next turn. */
export class Conversation {
  readonly #spec: ConversationSpec;
  readonly #template: Record<string, unknown>;
  readonly #slot: number;
  #session = 0;
  #turn = 0;
  #messages: Message[] = [];
  sessionId = '';

  /** `templateBody`: the scenario's JSON body (model, max_tokens, stream...); its messages are replaced. */
  constructor(spec: ConversationSpec, templateBody: string, slot: number) {
    this.#spec = spec;
    this.#template = JSON.parse(templateBody) as Record<string, unknown>;
    this.#slot = slot;
  }

  /** The body and session header of the next request: a new turn appended to the history. */
  next(): { body: string; sessionId: string } {
    if (this.#turn === 0 || this.#turn >= this.#spec.maxTurns) {
      this.#session++;
      this.#turn = 0;
      this.sessionId = `${this.#spec.runId}-c${this.#slot}-s${this.#session}`;
      this.#messages = [{ role: 'system', content: `Session ${this.sessionId}. ${seededWords(this.sessionId, this.#spec.prefixWords)}` }];
    } else {
      // The answer is not read back from the stream (the client stays cheap); any fixed text keeps the
      // earlier messages, and so the prefix, unchanged.
      this.#messages.push({ role: 'assistant', content: seededWords(`${this.sessionId}/a${this.#turn}`, this.#spec.turnWords) });
    }
    this.#turn++;
    this.#messages.push({ role: 'user', content: `Turn ${this.#turn}: ${seededWords(`${this.sessionId}/u${this.#turn}`, this.#spec.turnWords)}` });
    return { body: JSON.stringify({ ...this.#template, messages: this.#messages }), sessionId: this.sessionId };
  }
}
