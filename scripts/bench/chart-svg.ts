/**
 * @module bench/chart-svg
 * The report's chart, written as plain SVG (no chart dependency): one panel of horizontal bars per
 * figure, one bar per proxy, each panel on its own scale with the value printed beside the bar.
 */
import { figureOf, type Figure, type MetricId, type ScenarioSummary } from './aggregate.js';
import { TARGET_LABELS, type TargetId } from './targets.js';

export interface Panel {
  title: string;
  scenario: string;
  metric: MetricId;
  value: (f: Figure) => number | undefined;
  unit: string;
}

export const PANELS: readonly Panel[] = [
  { title: 'Added latency p50, non-streaming, concurrency 1', scenario: 'ns-c1', metric: 'latencyP50', value: (f) => f.added.direct, unit: 'ms' },
  { title: 'Added time to first token p99, 100 streams', scenario: 's64-c100', metric: 'ttftP99', value: (f) => f.added.direct, unit: 'ms' },
  { title: 'CPU per non-streaming request, concurrency 64', scenario: 'ns-c64', metric: 'cpuPerReqMs', value: (f) => f.median, unit: 'ms' },
  { title: 'CPU per 1,000 streamed tokens, 100 streams', scenario: 's64-c100', metric: 'cpuPer1kTokensMs', value: (f) => f.median, unit: 'ms' },
];

const COLOURS: Readonly<Record<string, string>> = {
  gateway: '#d9480f',
  bare: '#5c7cfa',
  nginx: '#2b8a3e',
  portkey: '#868e96',
};

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function number(v: number): string {
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(Math.abs(v) >= 1 ? 2 : 3);
}

const WIDTH = 760;
const LABEL_W = 210;
const BAR_MAX = 440;
const ROW_H = 24;

/** The chart for the proxies among `targets` (direct is the zero every "added" figure is measured from). */
export function renderChart(summaries: readonly ScenarioSummary[], targets: readonly string[], subtitle: string): string {
  const proxies = targets.filter((t) => t !== 'direct');
  const parts: string[] = [];
  let y = 72;
  for (const panel of PANELS) {
    const values = proxies.map((t) => {
      const f = figureOf(summaries, panel.scenario, t, panel.metric);
      return f ? (panel.value(f) ?? Number.NaN) : Number.NaN;
    });
    const max = Math.max(...values.filter(Number.isFinite).map((v) => Math.max(v, 0)), 0);
    parts.push(`<text x="16" y="${y}" class="title">${escapeXml(`${panel.title} (${panel.unit})`)}</text>`);
    y += 12;
    proxies.forEach((t, i) => {
      const v = values[i] as number;
      const rowY = y + (i * ROW_H);
      parts.push(`<text x="${LABEL_W - 8}" y="${rowY + 15}" class="label" text-anchor="end">${escapeXml(TARGET_LABELS[t as TargetId] ?? t)}</text>`);
      if (!Number.isFinite(v)) {
        parts.push(`<text x="${LABEL_W + 4}" y="${rowY + 15}" class="value">not measured</text>`);
        return;
      }
      const w = max > 0 ? Math.max(1, (Math.max(v, 0) / max) * BAR_MAX) : 1;
      parts.push(`<rect x="${LABEL_W}" y="${rowY + 3}" width="${w.toFixed(1)}" height="${ROW_H - 8}" fill="${COLOURS[t] ?? '#495057'}"/>`);
      parts.push(`<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${rowY + 15}" class="value">${number(v)}</text>`);
    });
    y += (proxies.length * ROW_H) + 30;
  }
  const height = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    '<style>.title{font-size:14px;font-weight:bold;fill:#212529}.label{font-size:12px;fill:#343a40}.value{font-size:12px;fill:#212529}.sub{font-size:12px;fill:#495057}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" class="title">Cost of each proxy next to the simulator (lower is better)</text>`,
    `<text x="16" y="40" class="sub">${escapeXml(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
