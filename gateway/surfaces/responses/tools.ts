/**
 * @module surfaces/responses/tools
 * Responses `tools`, `tool_choice` and `text.format` → their chat-completions forms (vllm.md 2.2).
 *
 * Function tools are flat in Responses (`{type:'function', name, description, parameters, strict}`) and
 * nested in chat (`{type:'function', function:{…}}`). Hosted tools (web_search, file_search,
 * computer_use, code_interpreter, mcp…) run at OpenAI, not here: a 400 naming `tools[i].type`.
 * A top-level `$schema` is stripped from JSON schemas: it only names the draft, and some of vLLM's
 * guided-decoding backends refuse keywords they do not know.
 */
import { invalidRequest } from '../../errors.js';
import { PARSE_PARAMS, toInvalidRequest } from '../../schemas/issues.js';
import { functionTool, type ResponsesRequest } from './schema.js';
import type { FunctionToolEcho } from './types.js';

type Json = Record<string, unknown>;

function withoutSchemaKeyword(schema: Json | null | undefined): Json | undefined {
  if (!schema) return undefined;
  if (!('$schema' in schema)) return schema;
  const { $schema: _draft, ...rest } = schema;
  return rest;
}

export function translateTools(tools: ResponsesRequest['tools']): { tools: Json[] | undefined; echoTools: FunctionToolEcho[] } {
  const chat: Json[] = [];
  const echo: FunctionToolEcho[] = [];
  for (const [i, raw] of (tools ?? []).entries()) {
    if (raw.type !== 'function') {
      throw invalidRequest(
        `tools[${i}].type "${raw.type.slice(0, 40)}" is not supported: this gateway runs function tools only (hosted tools run at OpenAI).`,
        `tools[${i}].type`,
        'unsupported_tool',
      );
    }
    const parsed = functionTool.safeParse(raw, PARSE_PARAMS);
    if (!parsed.success) throw toInvalidRequest(parsed.error.issues.map((issue) => ({ ...issue, path: ['tools', i, ...issue.path] })));
    const t = parsed.data;
    const parameters = withoutSchemaKeyword(t.parameters) ?? { type: 'object', properties: {} };
    const fn: Json = { name: t.name, parameters };
    if (t.description) fn.description = t.description;
    chat.push({ type: 'function', function: fn });
    echo.push({ type: 'function', name: t.name, description: t.description ?? null, parameters, strict: t.strict ?? true });
  }
  // vLLM refuses `tools: []` (vllm.md 2.2); the Agents SDK sends it when an agent has no tools.
  return { tools: chat.length > 0 ? chat : undefined, echoTools: echo };
}

export function translateToolChoice(choice: ResponsesRequest['tool_choice'], tools: readonly FunctionToolEcho[]): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (tools.length === 0) {
    // vLLM refuses tool_choice without tools; "auto" and "none" mean the same as nothing then.
    if (choice === 'auto' || choice === 'none') return undefined;
    throw invalidRequest('tool_choice needs tools: send at least one function tool, or omit tool_choice', 'tool_choice', 'invalid_value');
  }
  if (typeof choice === 'string') return choice;
  if (!tools.some((t) => t.name === choice.name)) {
    throw invalidRequest(`tool_choice.name "${choice.name.slice(0, 64)}" matches none of the tools`, 'tool_choice.name', 'invalid_value');
  }
  return { type: 'function', function: { name: choice.name } };
}

type TextFormat = NonNullable<NonNullable<ResponsesRequest['text']>['format']>;

export function translateTextFormat(format: TextFormat | undefined): Json | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  const f = format as Json & { name: string; schema: Json; strict?: boolean | null; description?: string | null };
  const jsonSchema: Json = { name: f.name, schema: withoutSchemaKeyword(f.schema) ?? {} };
  if (f.strict !== undefined && f.strict !== null) jsonSchema.strict = f.strict;
  if (f.description) jsonSchema.description = f.description;
  return { type: 'json_schema', json_schema: jsonSchema };
}
