/**
 * @module surfaces/responses/types
 * The Responses API objects this gateway builds, typed after the official SDK's definitions
 * (node_modules/openai/resources/responses/responses.d.ts: Response, ResponseOutputMessage,
 * ResponseFunctionToolCall, ResponseUsage). Only the fields we fill are spelled out; tests assign our
 * objects to the SDK's types, so a drift shows up as a type error there. The gateway does not import
 * `openai` at run time (it is a dev dependency).
 */

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: never[];
}

export interface OutputMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  status: 'in_progress' | 'completed' | 'incomplete';
  content: OutputText[];
}

export interface FunctionCallItem {
  id: string;
  type: 'function_call';
  call_id: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

export type OutputItem = OutputMessage | FunctionCallItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponseError {
  /** One of the SDK's ResponseError codes; we use 'server_error'. */
  code: 'server_error';
  message: string;
}

export interface FunctionToolEcho {
  type: 'function';
  name: string;
  description: string | null;
  parameters: Record<string, unknown>;
  strict: boolean;
}

export type ToolChoiceEcho = 'none' | 'auto' | 'required' | { type: 'function'; name: string };

/** The request fields a Response echoes (SDK: Response). */
export interface ResponseEcho {
  instructions: string | null;
  metadata: Record<string, string> | null;
  temperature: number | null;
  top_p: number | null;
  tools: FunctionToolEcho[];
  tool_choice: ToolChoiceEcho;
  parallel_tool_calls: boolean;
  text: { format: { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean | null }; verbosity?: 'low' | 'medium' | 'high' | null };
  truncation: 'auto' | 'disabled';
  max_output_tokens: number | null;
  max_tool_calls: number | null;
  previous_response_id: string | null;
  conversation: { id: string } | null;
  store: boolean;
  /** Absent when not sent (the SDK types it optional, not nullable). */
  user?: string;
  service_tier: 'default';
  top_logprobs: number | null;
  reasoning: { effort: null; summary: null };
  background: false;
}

export interface ResponseObject extends ResponseEcho {
  id: string;
  object: 'response';
  created_at: number;
  completed_at: number | null;
  status: ResponseStatus;
  error: ResponseError | null;
  incomplete_details: { reason: 'max_output_tokens' } | null;
  model: string;
  output: OutputItem[];
  /** Concatenated output text, as the SDK's own `output_text` convenience property. */
  output_text: string;
  /** Absent until the end (the SDK types it optional, not nullable). */
  usage?: ResponseUsage;
  access_programs: null;
}
