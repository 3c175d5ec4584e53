/**
 * @module surfaces/responses/input
 * Responses input items ↔ what we store ↔ chat messages.
 *
 * Accepted items (SDK ResponseInputItem): messages (`type:'message'`, or no `type` with a `role`, as the
 * Agents SDK and the Vercel AI SDK send them) with role user/system/developer/assistant and content a
 * string or text parts (`input_text`, `output_text`); `function_call`; `function_call_output`;
 * `item_reference` (or no `type`, only an `id`). Anything else (images, files, hosted-tool calls,
 * reasoning) is a 400 naming the field: the model behind this gateway reads text only.
 *
 * Every item is stored with a fresh id (`msg_`, `fc_`, `fco_`), a resolved reference as a copy, so an
 * item id names exactly one stored item per owner.
 */
import { z } from 'zod';
import { invalidRequest, type GatewayError } from '../../errors.js';
import { toInvalidRequest, PARSE_PARAMS } from '../../schemas/issues.js';
import { isRecord } from '../../schemas/parsed-request.js';
import { newId } from '../../state/ids.js';
import type { StateStore, StoredItem } from '../../state/store.js';

const TEXT_PARTS = new Set(['input_text', 'output_text', 'text']);

const messageSchema = z.looseObject({
  role: z.enum(['user', 'system', 'developer', 'assistant']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))], { error: 'must be a string or an array of content parts' }),
});
const functionCallSchema = z.looseObject({ call_id: z.string().min(1), name: z.string().min(1), arguments: z.string() });
const functionCallOutputSchema = z.looseObject({
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))], { error: 'must be a string or an array of content parts' }),
});
const referenceSchema = z.looseObject({ id: z.string().min(1) });

/** Parses `value` with `schema`; a failure is a 400 whose param starts with `path`. */
function check<T>(schema: z.ZodType<T>, value: unknown, path: PropertyKey[]): T {
  const result = schema.safeParse(value, PARSE_PARAMS);
  if (result.success) return result.data;
  throw toInvalidRequest(result.error.issues.map((issue) => ({ ...issue, path: [...path, ...issue.path] })));
}

function textParts(parts: ReadonlyArray<Record<string, unknown>>, param: string, kind: 'input_text' | 'output_text'): Array<Record<string, unknown>> {
  return parts.map((part, j) => {
    if (!TEXT_PARTS.has(String(part.type))) {
      throw invalidRequest(`${param}[${j}].type "${String(part.type).slice(0, 40)}" is not supported: this model reads text only (input_text, output_text).`, `${param}[${j}].type`, 'unsupported_content');
    }
    if (typeof part.text !== 'string') throw invalidRequest(`${param}[${j}].text must be a string`, `${param}[${j}].text`, 'invalid_type');
    return kind === 'output_text' ? { type: 'output_text', text: part.text, annotations: [] } : { type: 'input_text', text: part.text };
  });
}

class Reference {
  constructor(readonly id: string, readonly param: string) {}
}

type Pending = StoredItem | Reference;

function normaliseItem(raw: unknown, i: number, field: string): Pending {
  const at = `${field}[${i}]`;
  if (!isRecord(raw)) throw invalidRequest(`${at} must be an object`, at, 'invalid_type');
  const type: unknown = raw.type ?? (raw.role !== undefined ? 'message' : raw.id !== undefined ? 'item_reference' : undefined);
  switch (type) {
    case 'message': {
      const m = check(messageSchema, raw, [field, i]);
      const kind = m.role === 'assistant' ? 'output_text' : 'input_text';
      const content = typeof m.content === 'string' ? [kind === 'output_text' ? { type: kind, text: m.content, annotations: [] } : { type: kind, text: m.content }] : textParts(m.content, `${at}.content`, kind);
      return { id: newId('msg'), type: 'message', role: m.role, status: 'completed', content };
    }
    case 'function_call': {
      const c = check(functionCallSchema, raw, [field, i]);
      return { id: newId('fc'), type: 'function_call', call_id: c.call_id, name: c.name, arguments: c.arguments, status: 'completed' };
    }
    case 'function_call_output': {
      const o = check(functionCallOutputSchema, raw, [field, i]);
      const output = typeof o.output === 'string' ? o.output : textParts(o.output, `${at}.output`, 'input_text');
      return { id: newId('fco'), type: 'function_call_output', call_id: o.call_id, output, status: 'completed' };
    }
    case 'item_reference':
      return new Reference(check(referenceSchema, raw, [field, i]).id, `${at}.id`);
    case undefined:
      throw invalidRequest(`${at}.type is required (or a role for a message, or an id for an item reference)`, `${at}.type`, 'missing_field');
    default:
      throw invalidRequest(`${at}.type "${String(type).slice(0, 40)}" is not supported by this gateway (messages, function_call, function_call_output and item_reference are).`, `${at}.type`, 'unsupported_item');
  }
}

function referenceNotFound(id: string, param: string): GatewayError {
  return invalidRequest(`Item with id '${id.slice(0, 80)}' not found.`, param, 'item_not_found');
}

/**
 * The request's `input` (or a conversation's `items`: `field` names it in errors) as stored items, item
 * references resolved from this owner's stored responses.
 */
export async function normaliseInput(
  input: string | unknown[] | null | undefined,
  store: StateStore,
  owner: string,
  field = 'input',
): Promise<StoredItem[]> {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') return [{ id: newId('msg'), type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: input }] }];
  const pending = input.map((raw, i) => normaliseItem(raw, i, field));
  const refs = pending.filter((p): p is Reference => p instanceof Reference);
  const found = refs.length > 0 ? await store.getItems(owner, refs.map((r) => r.id)) : new Map<string, StoredItem>();
  return pending.map((p) => {
    if (!(p instanceof Reference)) return p;
    const item = found.get(p.id);
    if (!item) throw referenceNotFound(p.id, p.param);
    return { ...item, id: newId(item.type === 'function_call' ? 'fc' : item.type === 'function_call_output' ? 'fco' : 'msg') };
  });
}

export type ChatMessage = Record<string, unknown> & { role: string };

function partsText(content: unknown): string | Array<{ type: 'text'; text: string }> {
  if (typeof content === 'string') return content;
  const parts = Array.isArray(content) ? content.filter(isRecord).map((p) => ({ type: 'text' as const, text: String(p.text ?? '') })) : [];
  return parts.length === 1 ? parts[0]!.text : parts;
}

/** Stored items (history, then input) as chat messages, in order. */
export function toChatMessages(items: readonly StoredItem[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const item of items) {
    if (item.type === 'message') {
      const role = item.role === 'developer' ? 'system' : String(item.role);
      messages.push({ role, content: partsText(item.content) });
    } else if (item.type === 'function_call') {
      const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
      const last = messages.at(-1);
      // One assistant turn: its text and the calls that follow it form one chat message.
      if (last?.role !== 'assistant') messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      else if (Array.isArray(last.tool_calls)) last.tool_calls.push(call);
      else last.tool_calls = [call];
    } else if (item.type === 'function_call_output') {
      const output = partsText(item.output);
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: typeof output === 'string' ? output : output.map((p) => p.text).join('') });
    }
  }
  return messages;
}
