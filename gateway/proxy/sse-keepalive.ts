/**
 * @module proxy/sse-keepalive
 * Optional SSE keep-alive: a `: ping` comment on a stream that has been silent for `SSE_KEEPALIVE_MS`,
 * so load balancers and proxies between the client and us do not cut a stream during a long prefill or
 * a long queue inside vLLM (peers.md 3D: LiteLLM users ask for exactly this). SSE parsers, the OpenAI
 * SDKs' included, skip comment lines. Off by default: with it on, the stream is no longer byte for byte
 * vLLM's.
 *
 * One interval for the whole gateway walks the open streams once a second; a stream only resets a
 * counter when it forwards bytes, so the per-chunk cost is a field store, not a timer.
 */

export interface KeepaliveStream {
  /** Called once per tick: `tickMs` more of possible silence; ping once more than `everyMs` is counted. */
  keepaliveTick(tickMs: number, everyMs: number): void;
}

export const PING = Buffer.from(': ping\n\n');

const TICK_MS = 1_000;

export class SseKeepalive {
  readonly #everyMs: number;
  readonly #streams = new Set<KeepaliveStream>();
  #timer: NodeJS.Timeout | undefined;

  /** @param everyMs SSE_KEEPALIVE_MS, at least one tick (the config schema enforces 1000). */
  constructor(everyMs: number) {
    this.#everyMs = everyMs;
  }

  add(stream: KeepaliveStream): void {
    this.#streams.add(stream);
    this.#timer ??= setInterval(this.#tick, TICK_MS).unref();
  }

  delete(stream: KeepaliveStream): void {
    this.#streams.delete(stream);
    if (this.#streams.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  readonly #tick = (): void => {
    for (const stream of this.#streams) stream.keepaliveTick(TICK_MS, this.#everyMs);
  };
}
