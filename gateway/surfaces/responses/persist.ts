/**
 * @module surfaces/responses/persist
 * After the answer: store the Response with its input and history (unless `store: false`), and append
 * the new input and the output to the conversation. A failed Response is stored (OpenAI keeps failed
 * ones too, for GET), but never appended to a conversation: its output is partial.
 *
 * Store failures become the gateway's errors here (stateError), in one place for the pipeline and the
 * routes: StoreFullError → 507 `store_full`; anything else (Redis down or slow) → 503
 * `store_unavailable`. Neither message carries content.
 */
import { GatewayError } from '../../errors.js';
import { StoreFullError, type StateStore, type StoredItem } from '../../state/store.js';
import type { PreparedResponses } from './request.js';
import type { ResponseObject } from './types.js';

export function stateError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof StoreFullError) {
    return new GatewayError(507, 'The gateway cannot store more responses or conversations right now; retry with "store": false, or later.', {
      type: 'server_error',
      code: 'store_full',
      cause: err,
    });
  }
  return new GatewayError(503, 'The gateway could not reach its state store; retry shortly.', {
    type: 'server_error',
    code: 'store_unavailable',
    headers: { 'retry-after': '1' },
    cause: err,
  });
}

/** Stores what `prepared` says to store. Throws stateError's GatewayError. */
export async function persistResponse(prepared: PreparedResponses, response: ResponseObject, store: StateStore, owner: string): Promise<void> {
  if (!prepared.store) return;
  try {
    await store.putResponse(owner, {
      id: response.id,
      response: response as unknown as Record<string, unknown>,
      input_items: prepared.inputItems,
      history_items: prepared.historyItems,
    });
    if (prepared.conversationId && response.status !== 'failed') {
      const output = response.output as unknown as StoredItem[];
      await store.appendItems(owner, prepared.conversationId, [...prepared.inputItems, ...output]);
    }
  } catch (err) {
    throw stateError(err);
  }
}
