/**
 * @module surfaces/seed-chat
 * The GPU chatbot body of our seed documents on `/chat` (issue 12): `{"message", "conversation_id"?,
 * "temperature"?, "max_length"?}` in, `{"response", "conversation_id", "timestamp", "model_info",
 * "processing_time"}` out. The history lives in the conversation store (`/v1/conversations` shows the
 * same conversation), so a restart, another replica or another FC instance continues it. A body with
 * `messages` on `/chat` stays OpenAI chat completions, unchanged.
 */
import { z } from 'zod';
import { GatewayError, invalidRequest } from '../errors.js';
import { readCompletion } from '../proxy/json-usage.js';
import { isRecord } from '../schemas/parsed-request.js';
import { PARSE_PARAMS, toInvalidRequest } from '../schemas/issues.js';
import { newId } from '../state/ids.js';
import type { StateStore, StoredItem } from '../state/store.js';
import { estimatePromptTokens } from '../token-estimate.js';
import { chatSurface, openAiErrors } from './openai.js';
import { stateError } from './responses/persist.js';
import { toChatMessages } from './responses/input.js';
import type { Surface, SurfaceContext, SurfaceRequest } from './surface.js';

const seedBody = z.looseObject({
  message: z.string().min(1, 'must not be empty').max(1_000_000),
  conversation_id: z.string().min(1).max(128).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  max_length: z.number().int().min(1).nullish(),
  stream: z.literal(false).nullish(),
});

/** `/chat`: the seed body when it has `message` and no `messages`, else OpenAI chat completions. */
export function chatRouteSurface(store: StateStore): Surface {
  return {
    name: 'chat',
    upstreamPath: '/v1/chat/completions',
    ...openAiErrors,
    parse: (json, ctx) => (isRecord(json) && typeof json.message === 'string' && json.messages === undefined ? parseSeed(json, ctx, store) : chatSurface.parse(json, ctx)),
  };
}

async function parseSeed(json: Record<string, unknown>, ctx: SurfaceContext, store: StateStore): Promise<SurfaceRequest> {
  const startedAt = performance.now();
  const parsed = seedBody.safeParse(json, PARSE_PARAMS);
  if (!parsed.success) throw toInvalidRequest(parsed.error.issues);
  const { message, conversation_id: conversationId, temperature, max_length: maxLength } = parsed.data;
  if (maxLength != null && ctx.maxTokensLimit !== undefined && maxLength > ctx.maxTokensLimit) {
    throw invalidRequest(`max_length must be at most ${ctx.maxTokensLimit} (MAX_TOKENS_LIMIT).`, 'max_length', 'max_tokens_too_large');
  }
  let history: StoredItem[] = [];
  if (conversationId) {
    const items = await store.allItems(ctx.owner, conversationId).catch((err: unknown) => {
      throw stateError(err);
    });
    if (!items) throw new GatewayError(404, `Conversation with id '${conversationId.slice(0, 80)}' not found.`, { type: 'invalid_request_error', param: 'conversation_id', code: 'conversation_not_found' });
    history = items;
  }
  const userItem: StoredItem = { id: newId('msg'), type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: message }] };
  const body: Record<string, unknown> = { messages: toChatMessages([...history, userItem]), stream: false };
  if (temperature != null) body.temperature = temperature;
  if (maxLength != null) body.max_tokens = maxLength;
  return {
    body,
    model: undefined,
    stream: false,
    maxTokens: maxLength ?? undefined,
    promptTokensEstimate: estimatePromptTokens(body, 'chat'),
    session: conversationId ?? undefined,
    streamReader: () => {
      throw new Error('the seed chatbot body does not stream');
    },
    async jsonAnswer(upstream) {
      const answer = JSON.parse(upstream.toString('utf8')) as { model?: string; choices?: Array<{ message?: { content?: string | null }; finish_reason?: string }> };
      const text = answer.choices?.[0]?.message?.content ?? '';
      const assistantItem: StoredItem = { id: newId('msg'), type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
      let id = conversationId ?? undefined;
      try {
        if (id) await store.appendItems(ctx.owner, id, [userItem, assistantItem]);
        else id = (await store.createConversation(ctx.owner, {}, [userItem, assistantItem])).id;
      } catch (err) {
        throw stateError(err);
      }
      const { usage, finishReason } = readCompletion(upstream);
      const reply = {
        response: text,
        conversation_id: id,
        timestamp: new Date().toISOString(),
        model_info: { model: answer.model ?? null, finish_reason: answer.choices?.[0]?.finish_reason ?? null, usage: usage ?? null },
        processing_time: Math.round(performance.now() - startedAt) / 1000,
      };
      return { body: JSON.stringify(reply), read: () => ({ usage, finishReason }) };
    },
  };
}
