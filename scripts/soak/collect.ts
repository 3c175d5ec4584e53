/**
 * @module soak/collect
 * Reading what the processes say: Prometheus text from the replicas and simulators, GET /sim/stats, the
 * replicas' JSON log lines and the simulators' ledgers.
 */
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import type { GatewayLogLine } from './checks.js';
import type { LedgerLine } from './sim-ledger.js';

export async function getText(url: string): Promise<string> {
  const res = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}

export interface SimStatsBody {
  completedRequests: number;
  completedPromptTokens: number;
  completedCompletionTokens: number;
  abortedRequests: number;
  abortedCompletionTokens: number;
  failedRequests: number;
}

export async function simStats(origin: string): Promise<SimStatsBody> {
  return JSON.parse(await getText(`${origin}/sim/stats`)) as SimStatsBody;
}

/**
 * Sum of a metric's samples in Prometheus text over the label sets that contain every `labels` pair
 * (`type="input"`); NaN when no sample matched.
 */
export function promSum(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = Number.NaN;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const close = line.lastIndexOf('}');
    const labelText = line[name.length] === '{' ? line.slice(name.length + 1, close) : '';
    if (!wanted.every((w) => labelText.split(',').includes(w))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (Number.isNaN(sum) ? 0 : sum) + value;
  }
  return sum;
}

interface RawLogLine {
  msg?: string;
  reqId?: string;
  status?: number;
  stream?: boolean;
  backend?: string | null;
  failovers?: number;
  tokensIn?: number | null;
  tokensOut?: number | null;
  clientAborted?: boolean;
  upstreamError?: { kind: string; detail?: string } | null;
}

/** The per-request lines (`"msg":"request"`) of a replica's stdout; other lines are skipped. */
export function readRequestLines(path: string, replica: string): GatewayLogLine[] {
  const out: GatewayLogLine[] = [];
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (!text.startsWith('{')) continue;
    let raw: RawLogLine;
    try {
      raw = JSON.parse(text) as RawLogLine;
    } catch {
      continue;
    }
    if (raw.msg !== 'request' || typeof raw.reqId !== 'string') continue;
    out.push({
      replica,
      reqId: raw.reqId,
      status: raw.status ?? 0,
      stream: raw.stream ?? false,
      backend: raw.backend ?? null,
      failovers: raw.failovers ?? 0,
      tokensIn: raw.tokensIn ?? null,
      tokensOut: raw.tokensOut ?? null,
      clientAborted: raw.clientAborted ?? false,
      upstreamError: raw.upstreamError ?? null,
    });
  }
  return out;
}

export function readLedger(path: string): LedgerLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  // A SIGKILL can only cut the line being written; writeSync makes that vanishingly rare.
  return text
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as LedgerLine);
}
