/**
 * @module observability/metrics
 * The gateway's Prometheus metrics (prom-client) on a registry of its own, so tests can build several
 * apps in one process. Names follow the OpenTelemetry GenAI conventions where one fits
 * (`gen_ai_server_*`, peers.md 1b); the rest are `gateway_*`, never vLLM's `vllm:` prefix (peers.md 5.5).
 * Every help text says where its clock starts and stops. Label values are low-cardinality: route
 * patterns, served model names, key names from the key list, status codes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds. LLM answers range from tens of milliseconds (one cached token) to minutes (long generations). */
const LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320];
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];
/** The gateway's own time should sit far below a millisecond; buckets resolve it. */
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];

export type RejectionReason =
  | 'auth'
  | 'rate_limit_requests'
  | 'rate_limit_tokens'
  | 'queue_full'
  | 'queue_timeout'
  | 'too_large'
  | 'invalid'
  | 'model_not_found'
  | 'not_ready';

export class GatewayMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'gateway_requests_total',
    help: 'Requests answered, counted when the answer ends (last byte written or client gone), by route pattern, model, key name and HTTP status.',
    labelNames: ['route', 'model', 'key', 'status'] as const,
    registers: [this.registry],
  });

  readonly duration = new Histogram({
    name: 'gen_ai_server_request_duration_seconds',
    help: 'Inference request duration: from the gateway reading the request line to the last byte of the answer written (or the client leaving). Includes queueing in the gateway.',
    labelNames: ['route', 'model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly ttft = new Histogram({
    name: 'gen_ai_server_time_to_first_token_seconds',
    help: 'Streaming time to first token: from the gateway receiving the request to the first body chunk from vLLM being forwarded (for chat the role chunk, which vLLM sends with the first token). Includes gateway queueing.',
    labelNames: ['route', 'model', 'backend'] as const,
    buckets: TTFT_BUCKETS,
    registers: [this.registry],
  });

  readonly timePerOutputToken = new Histogram({
    name: 'gen_ai_server_time_per_output_token_seconds',
    help: 'Streams that completed with known usage and more than one output token: time from the first body chunk forwarded to the last byte written, divided by completion tokens minus one (all choices together, so n>1 divides by more tokens).',
    labelNames: ['route', 'model'] as const,
    // A 7B model on a T4 decodes in tens of milliseconds per token; batching under load stretches it.
    buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly overhead = new Histogram({
    name: 'gateway_overhead_seconds',
    help: "The gateway's own time per inference request: from receiving the request to dispatching it to vLLM, minus time spent waiting in the admission queue or for readiness; for non-streaming answers plus the time from vLLM's last byte to ours.",
    labelNames: ['route'] as const,
    buckets: OVERHEAD_BUCKETS,
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'gateway_queue_wait_seconds',
    help: 'Time an admitted request waited in the admission queue: from joining the queue to getting a slot (0 when a slot was free).',
    buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: 'gateway_tokens_total',
    help: 'Tokens as reported by vLLM usage when an answer ends (type=input: prompt, type=output: completion). Answers whose usage is unknown add nothing.',
    labelNames: ['model', 'key', 'type'] as const,
    registers: [this.registry],
  });

  readonly inFlight: Gauge;
  readonly queued: Gauge;

  readonly rejections = new Counter({
    name: 'gateway_rejections_total',
    help: 'Requests the gateway refused before reaching vLLM, counted when refused, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly upstreamErrors = new Counter({
    name: 'gateway_upstream_errors_total',
    help: 'Failed attempts against a vLLM backend, counted when the failure is seen (each failover attempt counts), by kind (connect_refused, reset, *_timeout, http_4xx, http_5xx, stream_error, stream_truncated) and backend.',
    labelNames: ['kind', 'backend'] as const,
    registers: [this.registry],
  });

  readonly failovers = new Counter({
    name: 'gateway_failovers_total',
    help: 'Attempts sent to another backend after a failure before the first byte, counted when the new attempt starts, by the backend that failed and the failure kind.',
    labelNames: ['from', 'kind'] as const,
    registers: [this.registry],
  });

  readonly fallbacks = new Counter({
    name: 'gateway_fallbacks_total',
    help: 'Requests served by a fallback model (MODEL_FALLBACKS) because the requested model had no ready backend or its queue was full, counted when admitted, by served model names.',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });

  readonly internalErrors = new Counter({
    name: 'gateway_internal_errors_total',
    help: "Answers of 500 internal_error from the gateway itself (a defect: each one is logged at error level with its stack), and failed background tasks (task=settle, ...), counted when they happen.",
    labelNames: ['where'] as const,
    registers: [this.registry],
  });

  readonly #backendLabels = new Set<string>();

  /** A bounded `backend` label: the first 64 backend names as they are, the rest as `other` (DNS churn). */
  backendLabel(name: string): string {
    if (this.#backendLabels.has(name)) return name;
    if (this.#backendLabels.size >= 64) return 'other';
    this.#backendLabels.add(name);
    return name;
  }

  readonly clientAborts = new Counter({
    name: 'gateway_client_aborts_total',
    help: 'Requests whose client went away before the answer ended (the upstream request is aborted at once), by route and phase (queued, waiting, streaming).',
    labelNames: ['route', 'phase'] as const,
    registers: [this.registry],
  });

  readonly upstreamReady: Gauge;

  /** @param sample read at scrape time, so the gauges cost nothing per request. */
  constructor(sample: { inFlight: () => number; queued: () => number; anyReady: () => boolean }) {
    collectDefaultMetrics({ register: this.registry });
    this.inFlight = new Gauge({
      name: 'gateway_in_flight_requests',
      help: 'Inference requests holding an admission slot on some backend (sent to vLLM and not yet finished), sampled at scrape time; gateway_backend_in_flight has each backend.',
      registers: [this.registry],
      collect() {
        this.set(sample.inFlight());
      },
    });
    this.upstreamReady = new Gauge({
      name: 'gateway_upstream_ready',
      help: '1 while at least one vLLM backend answers /health 200 and lists its models, else 0; sampled at scrape time (gateway_backend_up has each backend).',
      registers: [this.registry],
      collect() {
        this.set(sample.anyReady() ? 1 : 0);
      },
    });
    this.queued = new Gauge({
      name: 'gateway_queued_requests',
      help: 'Inference requests waiting in the admission queue, sampled at scrape time.',
      registers: [this.registry],
      collect() {
        this.set(sample.queued());
      },
    });
  }
}
