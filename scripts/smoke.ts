/**
 * Smoke check of a running stack (gateway + vLLM): one chat question, asked once without and once with
 * streaming. Fails (exit 1) on an HTTP error, a stream that ends without `[DONE]`, or an empty or
 * degenerate answer; all-"!" output is the known failure of Qwen GPTQ checkpoints in fp16 on a T4
 * (vllm.md 8, "Known Qwen + fp16 + GPTQ problem"). Exit 2 on bad arguments.
 *
 *   node scripts/smoke.ts --url https://<fc-trigger-url> --key "$API_KEY" [--expect Paris]
 *
 * Options (or environment): --url (SMOKE_URL, default http://127.0.0.1:9000), --key (SMOKE_API_KEY),
 * --model (SMOKE_MODEL, default qwen2.5-7b-instruct), --prompt, --expect TEXT (the answer must contain it,
 * case-insensitive), --timeout-ms (per request, default 300000: a first request may wait for a cold start).
 * Runs on Node >= 22.18 directly from this file (type stripping): no build step, no dependencies.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface SmokeOptions {
  url: string;
  apiKey: string | undefined;
  model: string;
  prompt: string;
  expect: string | undefined;
  timeoutMs: number;
}

export interface SmokeResult {
  ok: boolean;
  /** One line per check, in order. */
  lines: string[];
}

const DEFAULT_PROMPT = 'What is the capital of France? Answer in one short sentence.';

/** Why `text` is not a usable answer, or undefined when it looks like language. */
export function degenerateReason(text: string): string | undefined {
  const visible = [...text.replace(/\s+/gu, '')];
  if (visible.length === 0) return 'the answer is empty';
  if (visible.every((ch) => ch === '!')) return 'the answer is all "!" (Qwen GPTQ fp16 overflow on pre-Ampere GPUs, vllm.md 8)';
  if (visible.length >= 4 && visible.every((ch) => ch === visible[0])) return `the answer is one character repeated ("${visible[0]}")`;
  const wordChars = visible.filter((ch) => /[\p{L}\p{N}]/u.test(ch)).length;
  if (wordChars / visible.length < 0.5) return 'the answer is mostly punctuation or symbols';
  return undefined;
}

function checkAnswer(kind: string, text: string, expect: string | undefined, lines: string[]): boolean {
  const reason = degenerateReason(text) ?? (expect && !text.toLowerCase().includes(expect.toLowerCase()) ? `the answer does not contain "${expect}"` : undefined);
  const shown = JSON.stringify(text.length > 160 ? `${text.slice(0, 160)}...` : text);
  lines.push(reason ? `FAIL ${kind}: ${reason}: ${shown}` : `ok   ${kind}: ${shown}`);
  return reason === undefined;
}

function headers(options: SmokeOptions): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) h.authorization = `Bearer ${options.apiKey}`;
  return h;
}

function body(options: SmokeOptions, stream: boolean): string {
  return JSON.stringify({
    model: options.model,
    messages: [{ role: 'user', content: options.prompt }],
    max_tokens: 64,
    temperature: 0,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  return `HTTP ${res.status} ${text.slice(0, 300)}`;
}

async function askOnce(options: SmokeOptions, lines: string[]): Promise<boolean> {
  const started = performance.now();
  const res = await fetch(`${options.url}/v1/chat/completions`, {
    method: 'POST',
    headers: headers(options),
    body: body(options, false),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (res.status !== 200) {
    lines.push(`FAIL chat: ${await errorText(res)}`);
    return false;
  }
  const json = (await res.json()) as { choices?: Array<{ message?: { content?: string | null } }> };
  const text = json.choices?.[0]?.message?.content ?? '';
  lines.push(`     chat answered in ${Math.round(performance.now() - started)} ms`);
  return checkAnswer('chat', text, options.expect, lines);
}

async function askStreaming(options: SmokeOptions, lines: string[]): Promise<boolean> {
  const started = performance.now();
  const res = await fetch(`${options.url}/v1/chat/completions`, {
    method: 'POST',
    headers: headers(options),
    body: body(options, true),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (res.status !== 200 || !res.body) {
    lines.push(`FAIL stream: ${await errorText(res)}`);
    return false;
  }
  let text = '';
  let done = false;
  let firstTokenMs: number | undefined;
  let buffered = '';
  const decoder = new TextDecoder();
  const handle = (line: string): void => {
    if (!line.startsWith('data:')) return;
    const data = line.slice(5).trim();
    if (data === '[DONE]') {
      done = true;
      return;
    }
    const event = JSON.parse(data) as { error?: { message?: string }; choices?: Array<{ delta?: { content?: string | null } }> };
    if (event.error) throw new Error(`error event in the stream: ${event.error.message ?? JSON.stringify(event.error)}`);
    const piece = event.choices?.[0]?.delta?.content;
    if (piece) {
      firstTokenMs ??= performance.now() - started;
      text += piece;
    }
  };
  try {
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        handle(buffered.slice(0, newline).replace(/\r$/, ''));
        buffered = buffered.slice(newline + 1);
      }
    }
    if (buffered) handle(buffered);
  } catch (err) {
    lines.push(`FAIL stream: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
  if (!done) {
    lines.push('FAIL stream: ended without data: [DONE]');
    return false;
  }
  lines.push(`     stream: first token after ${firstTokenMs === undefined ? '-' : Math.round(firstTokenMs)} ms, done after ${Math.round(performance.now() - started)} ms`);
  return checkAnswer('stream', text, options.expect, lines);
}

/** Runs both checks; never throws for a failing stack (network errors become FAIL lines). */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const lines: string[] = [`smoke: ${options.url} model ${options.model}`];
  let ok = true;
  for (const [name, step] of [['chat', askOnce], ['stream', askStreaming]] as const) {
    try {
      ok = (await step(options, lines)) && ok;
    } catch (err) {
      lines.push(`FAIL ${name}: ${err instanceof Error ? err.message : String(err)}`);
      ok = false;
    }
  }
  lines.push(ok ? 'smoke: PASS' : 'smoke: FAIL');
  return { ok, lines };
}

export function parseSmokeArgs(argv: string[], env: Record<string, string | undefined>): SmokeOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      model: { type: 'string' },
      prompt: { type: 'string' },
      expect: { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
    strict: true,
  });
  const timeoutMs = Number(values['timeout-ms'] ?? 300_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error('--timeout-ms must be a positive whole number');
  const url = (values.url ?? env.SMOKE_URL ?? 'http://127.0.0.1:9000').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(url)) throw new Error('--url must start with http:// or https://');
  return {
    url,
    apiKey: values.key ?? env.SMOKE_API_KEY,
    model: values.model ?? env.SMOKE_MODEL ?? 'qwen2.5-7b-instruct',
    prompt: values.prompt ?? DEFAULT_PROMPT,
    expect: values.expect,
    timeoutMs,
  };
}

async function main(): Promise<void> {
  let options: SmokeOptions;
  try {
    options = parseSmokeArgs(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`smoke: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const result = await runSmoke(options);
  process.stdout.write(`${result.lines.join('\n')}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) void main();
