/**
 * @module models
 * The model listing (`GET /v1/models`) and the 404 for a model nothing serves. Which served model a request
 * goes to (names, aliases, the default, fallbacks) is pipeline/target.ts.
 */
import { GatewayError } from './errors.js';
import type { ServedModel } from './upstream/readiness.js';

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
