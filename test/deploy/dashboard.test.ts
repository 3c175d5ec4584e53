/**
 * The Grafana dashboard shows what the gateway really exports: every `gateway_*` / `gen_ai_*` metric a
 * panel queries exists on a running gateway's /metrics (a renamed metric would leave a panel empty), and
 * the backend panels of issue 10 are there.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, post, startStack, type Stack } from '../support/stack.js';

const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/dashboards/vllm-gateway.json', import.meta.url), 'utf8')) as {
  panels: Array<{ type: string; title?: string; targets?: Array<{ expr: string }> }>;
};
const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_RPM: '1000' } });
  await post(`${stack.url}/v1/chat/completions`, chatBody('hi', { stream: true }));
});
afterAll(() => stack.close());

describe('Grafana dashboard', () => {
  it('queries only metrics the gateway exports', async () => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:gateway|gen_ai)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('shows each backend, failovers, fallbacks and internal errors', () => {
    const all = exprs.join('\n');
    for (const metric of ['gateway_backend_up', 'gateway_backend_in_flight', 'gateway_failovers_total', 'gateway_fallbacks_total', 'gateway_internal_errors_total', 'gateway_rate_limit_store_errors_total']) {
      expect(all, metric).toContain(metric);
    }
    expect(all).toMatch(/by \(le, backend\)/);
  });
});
