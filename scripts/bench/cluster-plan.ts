/**
 * @module bench/cluster-plan
 * The scenarios of issues 10, 11 and 12, run after issue 5's in the same `npm run bench`: several
 * simulated backends (scale-out, uneven backends, session affinity, the cost of routing), the Redis
 * rate-limit store, and the Responses API beside chat. Each scenario compares a few *arms* (a gateway
 * configuration, or the load client talking to the simulators itself) on the same simulators, windows
 * interleaved and the order rotated each repeat, as for issue 5's targets.
 */
import type { ConversationSpec } from './load-protocol.js';
import type { SimInstance } from './simulator.js';
import type { SseDialect } from './sse-timing.js';
import { BENCH_MODEL } from './targets.js';

export const CLUSTER_IDS = ['scale-out', 'uneven', 'affinity', 'cost-backends', 'cost-backends-paced', 'redis-c1', 'redis-c64', 'responses-s64', 'responses-s256', 'scale-out-2'] as const;
export type ClusterId = (typeof CLUSTER_IDS)[number];

export interface Arm {
  id: string;
  label: string;
  /** gateway: our gateway; bare: the bare Node proxy (first backend); direct: the client splits its connections over the backends itself. */
  kind: 'gateway' | 'bare' | 'direct';
  /** The first `backends` simulators of the scenario. */
  backends: number;
  /** Connections of the load client (default: the scenario's). */
  concurrency?: number;
  /** Gateway: MAX_CONCURRENT_REQUESTS, per backend (default: the arm's concurrency). */
  maxConcurrent?: number;
  /** Gateway environment for this arm (ROUTING, ROUTING_AFFINITY ...). */
  env?: Record<string, string>;
  /** Gateway: the rate-limit store is a Redis server on loopback (REDIS_URL). */
  redis?: boolean;
  /** POST /v1/responses (Responses API) instead of /v1/chat/completions. */
  responses?: boolean;
}

export interface ClusterScenario {
  id: ClusterId;
  label: string;
  /** The issue the scenario measures. */
  issue: number;
  /** Simulator i listens on 127.0.0.(2+i). */
  sims: Omit<SimInstance, 'name' | 'host'>[];
  stream: boolean;
  concurrency: number;
  maxTokens: number;
  conversation?: Omit<ConversationSpec, 'runId'>;
  /** Load before each measured window, when longer than the plan's (sessions must get going). */
  warmupMs?: number;
  arms: Arm[];
}

const timed = (n: number, itlMs: number, seqs: number, extra: Partial<SimInstance> = {}) => Array.from({ length: n }, () => ({ ttftMs: 20, itlMs, maxNumSeqs: seqs, ...extra }));
const instant = (n: number, seqs: number) => Array.from({ length: n }, () => ({ ttftMs: 0, itlMs: 0, maxNumSeqs: seqs }));

/** Slots of each simulated backend in the GPU-bound scenarios (vLLM's --max-num-seqs). */
export const SLOTS = 8;

const scaleArms = (counts: number[]): Arm[] =>
  counts.flatMap((n) => [
    { id: `gateway-${n}`, label: `gateway, ${n} backend${n > 1 ? 's' : ''}`, kind: 'gateway' as const, backends: n, concurrency: 2 * SLOTS * n, maxConcurrent: SLOTS },
    { id: `ideal-${n}`, label: `direct, ideal split over ${n}`, kind: 'direct' as const, backends: n, concurrency: 2 * SLOTS * n },
  ]);

export const CLUSTER_SCENARIOS: Readonly<Record<ClusterId, ClusterScenario>> = {
  'scale-out': {
    id: 'scale-out',
    label: `scale-out: 1, 2 and 4 backends of ${SLOTS} slots, 32 tokens 10 ms apart, streamed, 2× the slots in flight`,
    issue: 10,
    sims: timed(4, 10, SLOTS),
    stream: true,
    concurrency: 2 * SLOTS * 4,
    maxTokens: 32,
    arms: scaleArms([1, 2, 4]),
  },
  'scale-out-2': {
    id: 'scale-out-2',
    label: `scale-out smoke: 2 backends of ${SLOTS} slots, 32 tokens 10 ms apart, streamed, 2× the slots in flight`,
    issue: 10,
    sims: timed(2, 10, SLOTS),
    stream: true,
    concurrency: 2 * SLOTS * 2,
    maxTokens: 32,
    arms: scaleArms([2]),
  },
  uneven: {
    id: 'uneven',
    label: `uneven backends: 4 of ${SLOTS} slots, one 3× slower per token (30 ms vs 10 ms), 32 tokens streamed, 24 in flight (¾ of the slots)`,
    issue: 10,
    sims: [...timed(3, 10, SLOTS), ...timed(1, 30, SLOTS)],
    stream: true,
    concurrency: 24,
    maxTokens: 32,
    arms: [
      { id: 'least-loaded', label: 'gateway, ROUTING=least-loaded', kind: 'gateway', backends: 4, maxConcurrent: SLOTS, env: { ROUTING: 'least-loaded' } },
      { id: 'round-robin', label: 'gateway, ROUTING=round-robin', kind: 'gateway', backends: 4, maxConcurrent: SLOTS, env: { ROUTING: 'round-robin' } },
      // The gateway allowed twice the backends' slots, and as many requests in flight as there are slots:
      // a backend given more than its slots queues inside vLLM, where only least-loaded sees it
      // (vllm:num_requests_waiting).
      { id: 'least-loaded-2x', label: `gateway, ROUTING=least-loaded, MAX_CONCURRENT_REQUESTS=${2 * SLOTS}, ${4 * SLOTS} in flight`, kind: 'gateway', backends: 4, concurrency: 4 * SLOTS, maxConcurrent: 2 * SLOTS, env: { ROUTING: 'least-loaded' } },
      { id: 'round-robin-2x', label: `gateway, ROUTING=round-robin, MAX_CONCURRENT_REQUESTS=${2 * SLOTS}, ${4 * SLOTS} in flight`, kind: 'gateway', backends: 4, concurrency: 4 * SLOTS, maxConcurrent: 2 * SLOTS, env: { ROUTING: 'round-robin' } },
    ],
  },
  affinity: {
    id: 'affinity',
    label: `session affinity: 16 sessions re-sending a growing conversation (1,000-word prefix per session, 30-word turns), 4 backends of ${SLOTS} slots, prefill 0.5 ms per uncached token`,
    issue: 10,
    sims: timed(4, 10, SLOTS, { prefillMsPerToken: 0.5 }),
    stream: true,
    concurrency: 16,
    maxTokens: 32,
    conversation: { prefixWords: 1000, turnWords: 30, maxTurns: 1000 },
    warmupMs: 2_000,
    arms: [
      { id: 'affinity-on', label: 'gateway, ROUTING_AFFINITY=on', kind: 'gateway', backends: 4, maxConcurrent: SLOTS, env: { ROUTING_AFFINITY: 'on' } },
      { id: 'affinity-off', label: 'gateway, ROUTING_AFFINITY=off', kind: 'gateway', backends: 4, maxConcurrent: SLOTS, env: { ROUTING_AFFINITY: 'off' } },
    ],
  },
  'cost-backends': {
    id: 'cost-backends',
    label: 'cost of routing: non-streaming, concurrency 64, backends without delay: 1 backend vs 4, and the bare Node proxy',
    issue: 10,
    sims: instant(4, 128),
    stream: false,
    concurrency: 64,
    maxTokens: 32,
    arms: [
      { id: 'gateway-1', label: 'gateway, 1 backend', kind: 'gateway', backends: 1 },
      { id: 'gateway-4', label: 'gateway, 4 backends', kind: 'gateway', backends: 4 },
      { id: 'bare', label: 'bare Node proxy, 1 backend', kind: 'bare', backends: 1 },
    ],
  },
  // The control for the one above: with zero delay the upstream core is the limit, and four simulators
  // sharing it serve fewer requests per second than one, so the two gateways would be priced at
  // different rates (per-request CPU falls as the rate rises). 50 ms per answer makes the rate
  // 64 / 50 ms for both, set by simulated time.
  'cost-backends-paced': {
    id: 'cost-backends-paced',
    label: 'cost of routing at an equal rate: non-streaming, concurrency 64, every answer 50 ms: 1 backend vs 4',
    issue: 10,
    sims: Array.from({ length: 4 }, () => ({ ttftMs: 50, itlMs: 0, maxNumSeqs: 128 })),
    stream: false,
    concurrency: 64,
    maxTokens: 32,
    arms: [
      { id: 'gateway-1', label: 'gateway, 1 backend', kind: 'gateway', backends: 1 },
      { id: 'gateway-4', label: 'gateway, 4 backends', kind: 'gateway', backends: 4 },
    ],
  },
  'redis-c1': {
    id: 'redis-c1',
    label: 'rate-limit store: in memory vs Redis on loopback, non-streaming, concurrency 1',
    issue: 11,
    sims: instant(1, 128),
    stream: false,
    concurrency: 1,
    maxTokens: 32,
    arms: [
      { id: 'memory', label: 'gateway, in-memory store', kind: 'gateway', backends: 1 },
      { id: 'redis', label: 'gateway, Redis store', kind: 'gateway', backends: 1, redis: true },
    ],
  },
  'redis-c64': {
    id: 'redis-c64',
    label: 'rate-limit store: in memory vs Redis on loopback, non-streaming, concurrency 64',
    issue: 11,
    sims: instant(1, 128),
    stream: false,
    concurrency: 64,
    maxTokens: 32,
    arms: [
      { id: 'memory', label: 'gateway, in-memory store', kind: 'gateway', backends: 1 },
      { id: 'redis', label: 'gateway, Redis store', kind: 'gateway', backends: 1, redis: true },
    ],
  },
  'responses-s64': {
    id: 'responses-s64',
    label: 'Responses API beside chat: streaming 64 tokens, 10 ms apart, concurrency 100',
    issue: 12,
    sims: timed(1, 10, 256),
    stream: true,
    concurrency: 100,
    maxTokens: 64,
    arms: [
      { id: 'chat', label: 'gateway, POST /v1/chat/completions', kind: 'gateway', backends: 1 },
      { id: 'responses', label: 'gateway, POST /v1/responses', kind: 'gateway', backends: 1, responses: true },
    ],
  },
  'responses-s256': {
    id: 'responses-s256',
    label: 'Responses API beside chat: streaming 256 tokens, no delay, concurrency 32',
    issue: 12,
    sims: instant(1, 128),
    stream: true,
    concurrency: 32,
    maxTokens: 256,
    arms: [
      { id: 'chat', label: 'gateway, POST /v1/chat/completions', kind: 'gateway', backends: 1 },
      { id: 'responses', label: 'gateway, POST /v1/responses', kind: 'gateway', backends: 1, responses: true },
    ],
  },
};

/** The full run's cluster scenarios (the smoke run has its own, see smokeClusterIds). */
export const FULL_CLUSTER_IDS: readonly ClusterId[] = ['scale-out', 'uneven', 'affinity', 'cost-backends', 'cost-backends-paced', 'redis-c1', 'redis-c64', 'responses-s64', 'responses-s256'];
/** CI: one tiny 2-backend check (about ten seconds). */
export const SMOKE_CLUSTER_IDS: readonly ClusterId[] = ['scale-out-2'];

export const armConcurrency = (s: ClusterScenario, a: Arm): number => a.concurrency ?? s.concurrency;
export const armPath = (a: Arm): string => (a.responses ? '/v1/responses' : '/v1/chat/completions');
export const armDialect = (a: Arm): SseDialect => (a.responses ? 'responses' : 'chat');

const PROMPT = 'Tell me a short story about a lighthouse keeper.';

/** The request body of one arm: the same prompt and length in the chat or the Responses dialect. */
export function armBody(s: ClusterScenario, a: Arm): string {
  if (a.responses) {
    // store left at its default (true): what a client of the Responses API gets unless it opts out.
    return JSON.stringify({ model: BENCH_MODEL, input: PROMPT, max_output_tokens: s.maxTokens, ...(s.stream ? { stream: true } : {}) });
  }
  const body: Record<string, unknown> = { model: BENCH_MODEL, messages: [{ role: 'user', content: PROMPT }], max_tokens: s.maxTokens };
  if (s.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return JSON.stringify(body);
}
