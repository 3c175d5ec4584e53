/**
 * @module pipeline/target
 * Which served model a request goes to: the client's name or alias (404 before anything goes upstream
 * when nothing serves it), waiting up to READY_WAIT_MS while backends start, failing fast (503 with
 * Retry-After) when every backend of the model is ejected or down, and the fallback tier
 * (MODEL_FALLBACKS) when the model has no ready backend. A missing `model` means the first model of the
 * first backend in VLLM_URL order (vllm.md 2.1).
 */
import type { BackendSet } from '../backends/set.js';
import type { Call } from '../call/call.js';
import { notFound } from '../models.js';
import { modelStarting, modelUnavailable } from '../upstream/failures.js';

export interface TargetOptions {
  aliases: ReadonlyMap<string, string>;
  fallbacks: ReadonlyMap<string, string>;
  readyWaitMs: number;
}

export interface Target {
  /** The served model name sent to vLLM. */
  model: string;
  /** The served name the client's request resolved to, when a fallback replaced it. */
  fallbackFrom?: string;
}

export class TargetResolver {
  readonly #set: BackendSet;
  readonly #opts: TargetOptions;

  constructor(set: BackendSet, options: TargetOptions) {
    this.#set = set;
    this.#opts = options;
  }

  /** The fallback for a served model, when one is configured and can take requests now. */
  fallbackFor(model: string): string | undefined {
    const to = this.#opts.fallbacks.get(model);
    return to !== undefined && to !== model && this.#set.usableFor(to).length > 0 ? to : undefined;
  }

  async resolve(requested: string | undefined, call: Call, allowFallback: boolean): Promise<Target> {
    let name = this.#served(requested);
    if (name === undefined || this.#set.usableFor(name).length === 0) {
      // Fallback first: a request for a model with no ready backend does not wait when a tier can take it.
      const to = name === undefined ? undefined : allowFallback ? this.fallbackFor(name) : undefined;
      if (to !== undefined && name !== undefined) return { model: to, fallbackFrom: name };
      if (this.#set.anyStarting(name)) {
        name = await this.#waitForStart(requested, name, call);
      } else if (name !== undefined) {
        throw modelUnavailable(name, 2);
      }
    }
    if (name === undefined) throw requested === undefined || requested === '' ? modelStarting(5) : notFound(requested);
    return { model: name };
  }

  /** Waits (READY_WAIT_MS) for a backend of the model to become usable while some backend is starting. */
  async #waitForStart(requested: string | undefined, name: string | undefined, call: Call): Promise<string | undefined> {
    const t0 = performance.now();
    call.abortPhase = 'waiting';
    const ready = await this.#set.waitUsable(name, this.#opts.readyWaitMs, call.signal);
    call.waitedMs += performance.now() - t0;
    if (call.signal.aborted) throw call.signal.reason;
    const resolved = this.#served(requested);
    if (resolved === undefined && requested !== undefined && requested !== '' && !this.#set.anyStarting()) throw notFound(requested);
    if (!ready || resolved === undefined || this.#set.usableFor(resolved).length === 0) {
      call.rejection = 'not_ready';
      throw modelStarting(5);
    }
    return resolved;
  }

  /** The served name for a client's model name (own name, then alias), among every backend's last known list. */
  #served(requested: string | undefined): string | undefined {
    if (requested === undefined || requested === '') return this.#set.defaultModel()?.id;
    const backends = this.#set.all();
    if (backends.some((b) => !b.draining && b.serves(requested))) return requested;
    const target = this.#opts.aliases.get(requested);
    if (target !== undefined && backends.some((b) => !b.draining && b.serves(target))) return target;
    return undefined;
  }
}
