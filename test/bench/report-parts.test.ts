import { describe, expect, it } from 'vitest';
import { renderChart } from '../../scripts/bench/chart-svg.js';
import { nginxConfig } from '../../scripts/bench/nginx.js';
import { rotation } from '../../scripts/bench/plan.js';
import { fmt } from '../../scripts/bench/report-md.js';
import { gaugeSum } from '../../scripts/bench/simulator.js';

describe('nginxConfig', () => {
  const conf = nginxConfig({ prefix: '/tmp/x', listenPort: 8101, upstreamPort: 8000, maxStreams: 1000 });

  it('streams without buffering over a keep-alive upstream pool', () => {
    expect(conf).toMatch(/proxy_buffering off;/);
    expect(conf).toMatch(/keepalive \d+;/);
    expect(conf).toMatch(/proxy_http_version 1\.1;/);
    expect(conf).toMatch(/proxy_set_header Connection "";/);
    expect(conf).toMatch(/listen 127\.0\.0\.1:8101;/);
    expect(conf).toMatch(/server 127\.0\.0\.1:8000;/);
  });

  it('has room for both sides of every stream plus the cached upstream connections', () => {
    const n = Number(/worker_connections (\d+);/.exec(conf)?.[1]);
    const keepalive = Number(/keepalive (\d+);/.exec(conf)?.[1]);
    expect(n).toBeGreaterThanOrEqual(2000 + keepalive);
  });
});

describe('gaugeSum', () => {
  it('sums a gauge over its label sets and ignores gauges that share a prefix', () => {
    const text = [
      '# HELP vllm:num_requests_running x',
      'vllm:num_requests_running{model_name="m",engine="0"} 3',
      'vllm:num_requests_running{model_name="m",engine="1"} 4',
      'vllm:num_requests_running_total 100',
      'vllm:num_requests_waiting{model_name="m"} 2',
    ].join('\n');
    expect(gaugeSum(text, 'vllm:num_requests_running')).toBe(7);
    expect(gaugeSum(text, 'vllm:num_requests_waiting')).toBe(2);
    expect(gaugeSum(text, 'vllm:absent')).toBeNaN();
  });
});

describe('rotation', () => {
  it('starts each repeat one target later', () => {
    expect(rotation(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(rotation(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotation(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
    expect(rotation([], 3)).toEqual([]);
  });
});

describe('fmt', () => {
  it('prints a dash for what was not measured and groups thousands', () => {
    expect(fmt(Number.NaN)).toBe('–');
    expect(fmt(undefined)).toBe('–');
    expect(fmt(6405.2, 0)).toBe('6,405');
    expect(fmt(0.1234, 3)).toBe('0.123');
    expect(fmt(123.456)).toBe('123.5');
  });
});

describe('renderChart', () => {
  it('draws one bar per measured proxy and says which were not measured', () => {
    const svg = renderChart([], ['direct', 'gateway'], 'a <subtitle> & more');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt;subtitle&gt; &amp; more');
    expect(svg).toContain('not measured');
    expect(svg).not.toContain('direct (simulator)');
  });
});
