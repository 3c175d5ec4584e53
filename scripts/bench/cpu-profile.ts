/**
 * @module bench/cpu-profile
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) into self time per function and per package,
 * as shares of the time the process was not idle. Each sample is charged the interval until the next
 * sample (the way Chrome DevTools charges it).
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  /** Microseconds between consecutive samples. */
  timeDeltas: number[];
}

export interface SelfTime {
  /** Function name, or (anonymous). */
  name: string;
  /** Package or area and file:line, shortened. */
  where: string;
  /** node, undici, hono, pino, gateway, (gc), ... */
  area: string;
  selfMs: number;
  /** Of the non-idle time. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  top: SelfTime[];
  byArea: { area: string; selfMs: number; share: number }[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a script lives: `node` internals, an npm package by name, or our own top-level directory. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return SPECIAL.has(functionName) ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return nm[1] as string;
  const own = /\/dist\/([^/]+)\//.exec(url);
  if (own) return own[1] === 'scripts' ? 'bench' : (own[1] as string);
  return 'other';
}

function shortWhere(url: string, line: number): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('node_modules/');
  const dist = url.lastIndexOf('/dist/');
  let path = url;
  if (nm >= 0) path = url.slice(nm + 'node_modules/'.length);
  else if (dist >= 0) path = url.slice(dist + 1);
  return `${path}:${line + 1}`;
}

export function summariseProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, CpuProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const byFunction = new Map<string, { name: string; where: string; area: string; us: number }>();
  const byArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as CpuProfileNode).callFrame;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const name = frame.functionName || '(anonymous)';
    const where = shortWhere(frame.url, frame.lineNumber);
    const area = areaOf(frame.url, frame.functionName);
    const key = `${name}\u0000${where}`;
    const entry = byFunction.get(key);
    if (entry) entry.us += us;
    else byFunction.set(key, { name, where, area, us });
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const busy = total - idle;
  const share = (us: number): number => (busy > 0 ? us / busy : 0);
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, area: e.area, selfMs: e.us / 1000, share: share(e.us) })),
    byArea: [...byArea.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: us / 1000, share: share(us) })),
  };
}
