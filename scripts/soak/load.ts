/**
 * @module soak/load
 * The soak's clients: a fixed number of workers, each sending one request at a time until the deadline,
 * round-robin over the replicas. The mix (seeded, so a run can be repeated): chat and text completions,
 * streaming or not, some streams asking for usage, a few keys with tight per-key limits (their 429s are
 * expected), and about 10% of requests aborted mid-answer with an AbortController (streams after a few
 * events, non-streaming answers before they can be ready). Every request carries its own x-request-id,
 * so its log line and its simulator ledger line can be found. Each request leaves one ClientRecord.
 */
import { Agent, request } from 'undici';
import { SOAK_MODEL, type SoakKey } from './fleet.js';

export type ClientOutcome =
  /** A full answer: 2xx JSON, or a stream ending in [DONE]. */
  | 'done'
  /** A 200 stream whose last event is an error event (no [DONE] after it). */
  | 'error_event'
  /** A 200 stream that ended with neither [DONE] nor an error event. */
  | 'truncated'
  /** A non-2xx answer. */
  | 'http_error'
  /** We aborted it, as planned. */
  | 'aborted'
  /** The connection failed, or the answer took longer than the client's 60 s limit. */
  | 'network_error';

export interface ClientRecord {
  id: string;
  replica: string;
  route: 'chat' | 'completion';
  stream: boolean;
  includeUsage: boolean;
  key: string;
  abortPlanned: boolean;
  /** ms since the soak's start. */
  startedAt: number;
  endedAt: number;
  /** HTTP status; undefined when no answer came. */
  status: number | undefined;
  outcome: ClientOutcome;
  /** `error.code` of an error body or of a stream's error event. */
  errorCode?: string;
  /** Usage the client saw (non-streaming 200, or a stream's usage chunk). */
  usage?: { prompt: number; completion: number };
  detail?: string;
}

export interface LoadOptions {
  targets: readonly { name: string; origin: string }[];
  keys: readonly SoakKey[];
  concurrency: number;
  /** Absolute performance.now() at which workers stop starting requests. */
  until: number;
  /** performance.now() of the soak's start: records are relative to it. */
  t0: number;
  seed: number;
  abortShare: number;
  /** The simulators' pace, to time non-streaming aborts before the answer can be ready. */
  itlMs: number;
  ttftMs: number;
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['gateway', 'token', 'stream', 'replica', 'redis', 'backend', 'latency', 'budget', 'soak', 'answer', 'model', 'queue'];
const CLIENT_LIMIT_MS = 60_000;

interface Plan {
  id: string;
  target: { name: string; origin: string };
  key: SoakKey;
  route: 'chat' | 'completion';
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number;
  /** Streams: abort after this many data events; non-streaming: after this many ms. */
  abortAfter: number | undefined;
  body: string;
}

function pickKey(keys: readonly SoakKey[], r: number): SoakKey {
  let acc = 0;
  for (const k of keys) {
    acc += k.share;
    if (r < acc) return k;
  }
  return keys[keys.length - 1] as SoakKey;
}

export async function runLoad(o: LoadOptions, onRecord: (r: ClientRecord) => void): Promise<void> {
  const rand = prng(o.seed);
  const agent = new Agent({ keepAliveTimeout: 4_000, connections: o.concurrency * 2 });
  const tag = o.seed.toString(36);
  let seq = 0;
  const plan = (): Plan => {
    const n = seq++;
    const route = rand() < 0.6 ? 'chat' : 'completion';
    const stream = rand() < 0.6;
    const includeUsage = stream && rand() < 0.5;
    const maxTokens = 8 + Math.floor(rand() * 41);
    const aborting = rand() < o.abortShare;
    const text = Array.from({ length: 4 + Math.floor(rand() * 40) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
    const body: Record<string, unknown> = { model: SOAK_MODEL, max_tokens: maxTokens, stream };
    if (includeUsage) body.stream_options = { include_usage: true };
    if (route === 'chat') body.messages = [{ role: 'user', content: `request ${n}: ${text}` }];
    else body.prompt = `request ${n}: ${text}`;
    if (rand() < 0.3) body.user = `user-${Math.floor(rand() * 20)}`;
    // Non-streaming: abort between the first token and the end of the answer.
    const abortAfter = !aborting ? undefined : stream ? 2 + Math.floor(rand() * 4) : Math.round(o.ttftMs + (0.2 + rand() * 0.5) * maxTokens * o.itlMs);
    return {
      id: `soak-${tag}-${n}`,
      target: o.targets[n % o.targets.length] as Plan['target'],
      key: pickKey(o.keys, rand()),
      route,
      stream,
      includeUsage,
      maxTokens,
      abortAfter,
      body: JSON.stringify(body),
    };
  };
  const worker = async (): Promise<void> => {
    while (performance.now() < o.until) {
      const rec = await send(agent, plan(), o.t0);
      onRecord(rec);
      // Clients back off a little after a 429 instead of spinning on the limit.
      if (rec.status === 429) await new Promise((r) => setTimeout(r, 100));
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  await agent.close();
}

async function send(agent: Agent, p: Plan, t0: number): Promise<ClientRecord> {
  const controller = new AbortController();
  const rec: ClientRecord = {
    id: p.id,
    replica: p.target.name,
    route: p.route,
    stream: p.stream,
    includeUsage: p.includeUsage,
    key: p.key.name,
    abortPlanned: p.abortAfter !== undefined,
    startedAt: performance.now() - t0,
    endedAt: 0,
    status: undefined,
    outcome: 'network_error',
  };
  let aborted = false;
  const abort = (): void => {
    aborted = true;
    controller.abort();
  };
  const limit = setTimeout(() => controller.abort(), CLIENT_LIMIT_MS);
  const abortTimer = !p.stream && p.abortAfter !== undefined ? setTimeout(abort, p.abortAfter) : undefined;
  try {
    const res = await request(`${p.target.origin}${p.route === 'chat' ? '/v1/chat/completions' : '/v1/completions'}`, {
      method: 'POST',
      dispatcher: agent,
      signal: controller.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${p.key.key}`, 'x-request-id': p.id },
      body: p.body,
      headersTimeout: CLIENT_LIMIT_MS,
      bodyTimeout: CLIENT_LIMIT_MS,
    });
    rec.status = res.statusCode;
    if (p.stream && res.statusCode === 200) {
      const events: string[] = [];
      let buffer = '';
      for await (const chunk of res.body) {
        buffer += (chunk as Buffer).toString('utf8');
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          events.push(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
        if (p.abortAfter !== undefined && events.length >= p.abortAfter) abort();
      }
      readStream(rec, events);
    } else {
      const text = await res.body.text();
      readJson(rec, text, res.statusCode);
    }
  } catch (err) {
    if (aborted) rec.outcome = 'aborted';
    else {
      rec.outcome = 'network_error';
      rec.detail = `${(err as { code?: string }).code ?? (err as Error).name}: ${(err as Error).message}`;
    }
  } finally {
    clearTimeout(limit);
    clearTimeout(abortTimer);
  }
  rec.endedAt = performance.now() - t0;
  return rec;
}

function readStream(rec: ClientRecord, events: readonly string[]): void {
  let done = false;
  let errorCode: string | undefined;
  for (const event of events) {
    const data = event.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
    if (data === undefined) continue;
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    const obj = JSON.parse(data) as { usage?: { prompt_tokens: number; completion_tokens: number } | null; error?: { code?: string } };
    if (obj.error) errorCode = obj.error.code ?? 'error';
    else if (obj.usage) rec.usage = { prompt: obj.usage.prompt_tokens, completion: obj.usage.completion_tokens };
  }
  if (errorCode !== undefined) rec.errorCode = errorCode;
  // An error event followed by [DONE] is vLLM's own in-stream error; the gateway's ends without [DONE].
  rec.outcome = errorCode !== undefined ? 'error_event' : done ? 'done' : 'truncated';
}

function readJson(rec: ClientRecord, text: string, status: number): void {
  let obj: { usage?: { prompt_tokens: number; completion_tokens: number }; error?: { code?: string } } = {};
  try {
    obj = JSON.parse(text) as typeof obj;
  } catch {
    rec.detail = `not JSON: ${text.slice(0, 100)}`;
  }
  if (status >= 200 && status < 300) {
    rec.outcome = 'done';
    if (obj.usage) rec.usage = { prompt: obj.usage.prompt_tokens, completion: obj.usage.completion_tokens };
  } else {
    rec.outcome = 'http_error';
    if (obj.error?.code) rec.errorCode = obj.error.code;
  }
}
