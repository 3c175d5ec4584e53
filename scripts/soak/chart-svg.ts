/**
 * @module soak/chart-svg
 * The memory curves as plain SVG (no chart dependency): one panel per figure (RSS, heap after GC, open
 * descriptors), one line per replica over time, the warm-up shaded and the kill marked.
 */
import type { MemorySample } from './memory.js';
import type { SoakResults } from './results.js';

const WIDTH = 760;
const PANEL_H = 170;
const LEFT = 70;
const RIGHT = 20;
const COLOURS = ['#d9480f', '#1c7ed6', '#2b8a3e', '#862e9c'];

interface Figure {
  title: string;
  value: (s: MemorySample) => number;
  label: (v: number) => string;
}

const FIGURES: readonly Figure[] = [
  { title: 'RSS (MiB)', value: (s) => s.rssBytes / 1048576, label: (v) => v.toFixed(0) },
  { title: 'Heap after GC (MiB)', value: (s) => s.heapAfterGcBytes / 1048576, label: (v) => v.toFixed(1) },
  { title: 'Open file descriptors', value: (s) => s.fds, label: (v) => v.toFixed(0) },
];

export function renderMemoryChart(r: SoakResults): string {
  const tMax = Math.max(r.durationS, ...r.memory.flatMap((m) => m.samples.map((s) => s.t)), 1);
  const plotW = WIDTH - LEFT - RIGHT;
  const x = (t: number): number => LEFT + (t / tMax) * plotW;
  const parts: string[] = [];
  let top = 56;
  for (const f of FIGURES) {
    const values = r.memory.flatMap((m) => m.samples.map(f.value));
    const max = Math.max(...values, 1) * 1.1;
    const plotTop = top + 18;
    const plotH = PANEL_H - 44;
    const y = (v: number): number => plotTop + plotH - (v / max) * plotH;
    parts.push(`<text x="16" y="${top + 10}" class="title">${f.title}</text>`);
    parts.push(`<rect x="${LEFT}" y="${plotTop}" width="${(x(r.options.warmupS) - LEFT).toFixed(1)}" height="${plotH}" fill="#f1f3f5"/>`);
    if (r.kill) parts.push(`<line x1="${x(r.kill.atS).toFixed(1)}" x2="${x(r.kill.atS).toFixed(1)}" y1="${plotTop}" y2="${plotTop + plotH}" stroke="#c92a2a" stroke-dasharray="4 3"/>`);
    parts.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${plotTop + plotH}" y2="${plotTop + plotH}" stroke="#868e96"/>`);
    for (const v of [0, max / 2, max]) parts.push(`<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" class="axis" text-anchor="end">${f.label(v)}</text>`);
    r.memory.forEach((m, i) => {
      const points = m.samples.map((s) => `${x(s.t).toFixed(1)},${y(f.value(s)).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${points}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5"/>`);
    });
    top += PANEL_H;
  }
  parts.push(`<text x="${LEFT}" y="${top}" class="axis">0 s</text><text x="${LEFT + plotW}" y="${top}" class="axis" text-anchor="end">${tMax.toFixed(0)} s</text>`);
  const legend = r.memory.map((m, i) => `<tspan fill="${COLOURS[i % COLOURS.length]}">■ ${m.name}</tspan>`).join('  ');
  const height = top + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    '<style>.title{font-size:13px;font-weight:bold;fill:#212529}.axis{font-size:11px;fill:#495057}.sub{font-size:12px;fill:#495057}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="22" class="title">Soak: memory of each gateway replica over ${r.durationS.toFixed(0)} s (shaded: warm-up; dashed: SIGKILL of a simulator)</text>`,
    `<text x="16" y="40" class="sub">${legend}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
