/**
 * @module models
 * Maps the `model` a client sends to a name vLLM serves: vLLM's own served names, then MODEL_ALIASES.
 * A missing `model` means vLLM's first served model (vllm.md 2.1). Anything else is a 404 before
 * anything goes upstream.
 */
import { GatewayError } from './errors.js';
import type { ServedModel } from './upstream/readiness.js';

export function resolveModel(
  requested: string | undefined,
  served: readonly ServedModel[],
  aliases: ReadonlyMap<string, string>,
): string {
  const first = served[0];
  if (requested === undefined || requested === '') {
    if (first) return first.id;
    throw notFound('(default)');
  }
  for (const m of served) if (m.id === requested) return requested;
  const target = aliases.get(requested);
  if (target !== undefined && served.some((m) => m.id === target)) return target;
  throw notFound(requested);
}

export function notFound(model: string): GatewayError {
  return new GatewayError(404, `The model \`${model.slice(0, 200)}\` does not exist. GET /v1/models lists the models and aliases served here.`, {
    type: 'invalid_request_error',
    param: 'model',
    code: 'model_not_found',
  });
}

/** GET /v1/models: vLLM's cards (vllm.md 3.4) followed by one card per alias whose target is served. */
export function modelList(served: readonly ServedModel[], aliases: ReadonlyMap<string, string>): { object: 'list'; data: Record<string, unknown>[] } {
  const data: Record<string, unknown>[] = served.map((m) => m.card);
  const created = Math.floor(Date.now() / 1000);
  for (const [alias, target] of aliases) {
    const model = served.find((m) => m.id === target);
    if (!model || served.some((m) => m.id === alias)) continue;
    data.push({
      id: alias,
      object: 'model',
      created,
      owned_by: 'vllm-gateway',
      root: model.card.root ?? target,
      parent: target,
      max_model_len: model.maxModelLen ?? null,
    });
  }
  return { object: 'list', data };
}
