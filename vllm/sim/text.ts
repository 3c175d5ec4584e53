/**
 * @module sim/text
 * The simulator's deterministic "model": the words it generates and a tokenizer approximation.
 *
 * Determinism rule (simulatedText): the seed string is hashed with 32-bit FNV-1a over its UTF-16 code
 * units; the hash (or a fixed constant when it is 0) seeds an xorshift32 generator; token i is
 * `WORDS[next() % WORDS.length]`, preceded by one space for every token after the first. So
 * `simulatedText(seed, n)` depends only on (seed, n) and is a prefix of `simulatedText(seed, n + 1)`.
 * The seed of a request is its prompt text: for /v1/completions the prompt string (token-id prompts use
 * the ids joined by single spaces), for chat the text content of the LAST message (text parts joined by
 * "\n"). Markers such as `[[sim:itl=5]]` are part of that text. Choice i > 0 of an `n` > 1 request uses
 * `${seed}#${i}`.
 *
 * Tokenizer approximation (prompt counts, /tokenize): one token per ChatML special (`<|im_start|>`),
 * per CJK character, per run of other letters, per digit and per other non-space character. It is not
 * Qwen's BPE; it only has to be stable and roughly proportional to text length.
 */

const WORDS = [
  'the', 'model', 'answers', 'with', 'simulated', 'tokens', 'and', 'a', 'steady', 'rhythm', 'of', 'plain',
  'words', 'so', 'tests', 'can', 'check', 'every', 'byte', 'that', 'passes', 'through', 'gateway', 'stream',
  'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'while', 'engine', 'keeps', 'its', 'cache',
  'warm', 'for', 'next', 'request', 'in', 'line', 'queue', 'grows', 'when', 'load', 'rises', 'then',
  'drains', 'again', 'under', 'calm', 'skies', 'river', 'stone', 'light', 'paper', 'signal', 'north',
  'garden', 'window', 'copper',
] as const;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const ZERO_SEED_REPLACEMENT = 0x9e3779b9;

export function fnv1a(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** Produces the token pieces of simulatedText one at a time (no array, no closure per token). */
export class WordStream {
  #state: number;
  #count = 0;

  constructor(seed: string) {
    this.#state = fnv1a(seed) || ZERO_SEED_REPLACEMENT;
  }

  next(): string {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    const word = WORDS[this.#state % WORDS.length] as string;
    return this.#count++ === 0 ? word : ' ' + word;
  }
}

/** The deterministic text of `tokens` generated tokens for `seed` (see the module header). */
export function simulatedText(seed: string, tokens: number): string {
  const words = new WordStream(seed);
  let text = '';
  for (let i = 0; i < tokens; i++) text += words.next();
  return text;
}

export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
const SPECIAL_IDS: Readonly<Record<string, number>> = { '<|endoftext|>': 151643, [IM_START]: 151644, [IM_END]: 151645 };
/** Ids of ordinary pieces stay below Qwen2.5's special-token range. */
const ORDINARY_VOCAB = 151_000;

const TOKEN_RE =
  /<\|(?:im_start|im_end|endoftext)\|>|[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[^\P{L}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|\p{N}|[^\s\p{L}\p{N}]/gu;

export function countTokens(text: string): number {
  TOKEN_RE.lastIndex = 0;
  let n = 0;
  while (TOKEN_RE.exec(text) !== null) n++;
  return n;
}

export interface TokenIdSink {
  push(id: number): void;
}

/** One pass over `text`: gives `sink` each token's id (the ids `tokenize` returns); returns the count. */
export function scanTokenIds(text: string, sink: TokenIdSink): number {
  TOKEN_RE.lastIndex = 0;
  let n = 0;
  let m: RegExpExecArray | null;
  while ((m = TOKEN_RE.exec(text)) !== null) {
    const piece = m[0];
    // Only the ChatML specials start with "<" and are longer than one character.
    sink.push(piece.length > 1 && piece.charCodeAt(0) === 60 ? (SPECIAL_IDS[piece] ?? fnv1a(piece) % ORDINARY_VOCAB) : fnv1a(piece) % ORDINARY_VOCAB);
    n++;
  }
  return n;
}

export interface Tokenized {
  ids: number[];
  pieces: string[];
}

export function tokenize(text: string): Tokenized {
  const ids: number[] = [];
  const pieces: string[] = [];
  TOKEN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = TOKEN_RE.exec(text)) !== null) {
    const piece = m[0];
    pieces.push(piece);
    ids.push(SPECIAL_IDS[piece] ?? fnv1a(piece) % ORDINARY_VOCAB);
  }
  return { ids, pieces };
}

/**
 * Deterministic JSON arguments for a tool call, serialised the way the hermes parser does it (Python
 * `json.dumps`: ", " and ": " separators, non-ASCII kept). Each top-level property of the tool's JSON
 * schema gets a value of its type: the first enum value, a word for strings, a number derived from the
 * hash of "tool.property", true, [] or {}.
 */
export function toolArguments(toolName: string, parameters: unknown): string {
  const properties = isRecord(parameters) && isRecord(parameters.properties) ? parameters.properties : {};
  const parts: string[] = [];
  for (const [key, schema] of Object.entries(properties)) {
    parts.push(`${JSON.stringify(key)}: ${argumentValue(`${toolName}.${key}`, schema)}`);
  }
  return `{${parts.join(', ')}}`;
}

function argumentValue(seed: string, schema: unknown): string {
  if (!isRecord(schema)) return 'null';
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return pyJson(schema.enum[0]);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const hash = fnv1a(seed);
  switch (type) {
    case 'string':
      return JSON.stringify(capitalise(new WordStream(seed).next()));
    case 'integer':
      return String(hash % 100);
    case 'number':
      return String((hash % 1000) / 10);
    case 'boolean':
      return 'true';
    case 'array':
      return '[]';
    case 'object':
      return '{}';
    default:
      return 'null';
  }
}

/** JSON in Python's json.dumps spacing, for enum values (which may be any JSON value). */
function pyJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  if (isRecord(value)) return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`).join(', ')}}`;
  return JSON.stringify(value) ?? 'null';
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
