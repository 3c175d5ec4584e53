/**
 * @module surfaces/responses/schema
 * The zod schema of `POST /v1/responses` (SDK: ResponseCreateParamsBase), strict at the top level:
 * OpenAI answers 400 for an unknown parameter, and so do we. Every field the SDK defines is known, so
 * what the Vercel AI SDK (@ai-sdk/openai responses model) and the OpenAI Agents SDK send passes: fields
 * we cannot honour are refused by name in request.ts, and harmless ones (prompt cache hints, safety
 * identifier, verbosity, include_obfuscation) are accepted and ignored. Items are checked one by one in
 * input.ts, so their errors can name `input[i]…`.
 */
import { z } from 'zod';

/** OpenAI's metadata limits: 16 pairs, keys up to 64 characters, string values up to 512. */
export const metadataSchema = z
  .record(z.string().max(64, 'keys must be at most 64 characters long'), z.string().max(512, 'values must be at most 512 characters long'))
  .refine((m) => Object.keys(m).length <= 16, 'accepts at most 16 keys')
  .nullish();

const functionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().min(1).max(64).regex(/^[a-zA-Z0-9_-]+$/, 'must contain only letters, digits, underscores and dashes'),
  description: z.string().nullish(),
  parameters: z.looseObject({}).nullish(),
  strict: z.boolean().nullish(),
});

const jsonSchemaFormat = z.looseObject({
  type: z.literal('json_schema'),
  name: z.string().min(1).max(64),
  schema: z.looseObject({}),
  description: z.string().nullish(),
  strict: z.boolean().nullish(),
});

const textFormat = z.discriminatedUnion('type', [z.looseObject({ type: z.literal('text') }), z.looseObject({ type: z.literal('json_object') }), jsonSchemaFormat], {
  error: 'must be {"type":"text"}, {"type":"json_object"} or {"type":"json_schema","name":…,"schema":…}',
});

const toolChoice = z.union(
  [z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.literal('function'), name: z.string().min(1) })],
  { error: 'must be "none", "auto", "required" or {"type":"function","name":…}' },
);

const nullishAnything = z.unknown().optional();

export const responsesRequestSchema = z.strictObject({
  model: z.string().min(1).nullish(),
  input: z.union([z.string(), z.array(z.unknown())], { error: 'must be a string or an array of input items' }).nullish(),
  instructions: z.string().nullish(),
  max_output_tokens: z.int().min(1).nullish(),
  max_tool_calls: z.int().min(1).nullish(),
  temperature: z.number().min(0, 'must be between 0 and 2').max(2, 'must be between 0 and 2').nullish(),
  top_p: z.number().gt(0, 'must be greater than 0 and at most 1').max(1, 'must be greater than 0 and at most 1').nullish(),
  // Not a sampling knob we expose through Responses (logprobs are not returned); 0 is accepted as "none".
  top_logprobs: z.int().min(0).max(0, 'is not supported by this gateway (send 0 or omit it)').nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: textFormat.optional(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  metadata: metadataSchema,
  user: z.string().max(512).optional(),
  safety_identifier: z.string().max(64).nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  conversation: z.union([z.string().min(1), z.looseObject({ id: z.string().min(1) })], { error: 'must be a conversation id or {"id":…}' }).nullish(),
  include: z.array(z.string()).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  background: z.boolean().nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish(), generate_summary: z.string().nullish() }).nullish(),
  service_tier: z.enum(['auto', 'default', 'flex', 'scale', 'priority']).nullish(),
  prompt: nullishAnything,
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.string().nullish(),
  prompt_cache_options: z.looseObject({}).nullish(),
  context_management: z.array(z.unknown()).nullish(),
  access_programs: nullishAnything,
  image: nullishAnything,
  moderation: nullishAnything,
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
export type FunctionToolParam = z.infer<typeof functionTool>;
export { functionTool };
