/**
 * @module surfaces/responses/listing
 * The cursor lists of the Responses and Conversations APIs (SDK: ResponseItemList, ConversationItemList):
 * `{object:'list', data, first_id, last_id, has_more}`, paged by `after` (an item id) and `limit`
 * (1..100, default 20), `order` 'desc' (newest first) by default. The SDK pages on `has_more` and
 * `last_id` (ConversationCursorPage) or the last item's id (CursorPage); both are in every list.
 */
import { invalidRequest } from '../../errors.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, type ListOptions, type StoredItem } from '../../state/store.js';

/** Query `include` values are accepted and ignored: none of them can add anything to a text-only item. */
export function parseListQuery(query: Record<string, string | undefined>): Required<Pick<ListOptions, 'limit' | 'order'>> & { after: string | undefined } {
  const { after, limit, order } = query;
  let n = DEFAULT_LIST_LIMIT;
  if (limit !== undefined) {
    n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > MAX_LIST_LIMIT) throw invalidRequest(`limit must be an integer between 1 and ${MAX_LIST_LIMIT}`, 'limit', 'invalid_value');
  }
  if (order !== undefined && order !== 'asc' && order !== 'desc') throw invalidRequest('order must be "asc" or "desc"', 'order', 'invalid_value');
  return { after: after || undefined, limit: n, order: order ?? 'desc' };
}

export interface ItemList {
  object: 'list';
  data: StoredItem[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export function itemList(data: StoredItem[], hasMore: boolean): ItemList {
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}

/** Pages an in-memory list (a stored response's input items) the way the stores page conversations. */
export function pageOf(items: readonly StoredItem[], options: { after: string | undefined; limit: number; order: 'asc' | 'desc' }): ItemList {
  const ordered = options.order === 'desc' ? [...items].reverse() : [...items];
  let start = 0;
  if (options.after !== undefined) {
    const at = ordered.findIndex((i) => i.id === options.after);
    if (at < 0) return itemList([], false);
    start = at + 1;
  }
  const page = ordered.slice(start, start + options.limit);
  return itemList(page, start + options.limit < ordered.length);
}
