/**
 * @module backends/metrics
 * Per-backend gauges, read from the set at scrape time (prom-client `collect`), so nothing is updated on
 * the request path: `gateway_backend_up`, `gateway_backend_in_flight`, `gateway_backend_load`.
 *
 * Label values are backend names (spec name or host:port, never credentials). They are bounded: the first
 * MAX_BACKEND_LABELS - 1 distinct names of a scrape get their own series, the rest are summed into
 * `backend="other"` (up counts the usable ones there; load is their mean). Series of backends that left
 * disappear at the next scrape.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Backend } from './backend.js';

export const MAX_BACKEND_LABELS = 64;

interface Row {
  up: number;
  inFlight: number;
  load: number;
  n: number;
}

export function registerBackendMetrics(registry: Registry, backends: { all(): Backend[] }): void {
  const current = (): Map<string, Row> => {
    const rows = new Map<string, Row>();
    const now = Date.now();
    for (const b of backends.all()) {
      const label = rows.has(b.name) || rows.size < MAX_BACKEND_LABELS - 1 ? b.name : 'other';
      const row = rows.get(label) ?? { up: 0, inFlight: 0, load: 0, n: 0 };
      row.up += b.usable ? 1 : 0;
      row.inFlight += b.inFlight;
      row.load += b.load(now);
      row.n++;
      rows.set(label, row);
    }
    return rows;
  };
  const gauge = (name: string, help: string, value: (r: Row) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['backend'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [backend, row] of current()) this.set({ backend }, value(row));
      },
    });
  };
  gauge('gateway_backend_up', 'Whether the backend takes new requests at scrape time: 1 ready, not ejected, not draining; 0 otherwise.', (r) => r.up);
  gauge('gateway_backend_in_flight', "Requests the gateway has sent to the backend that have not ended yet, at scrape time (the gateway's own count).", (r) => r.inFlight);
  gauge(
    'gateway_backend_load',
    "The routing load at scrape time: vLLM's running + waiting from its last /metrics reading, corrected by the gateway's in-flight changes since, over maxConcurrent (in-flight alone once the reading is stale).",
    (r) => r.load / r.n,
  );
}
