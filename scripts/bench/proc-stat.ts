/**
 * @module bench/proc-stat
 * CPU time and resident memory of a process and its descendants, from /proc (Linux only). CPU is
 * utime+stime from /proc/<pid>/stat: it counts every thread of the process (V8's GC and compiler threads,
 * libuv's pool) but not children until they are reaped, so a process tree (nginx's master and worker) is
 * summed over its live members. Figures are in clock ticks (USER_HZ, usually 100 per second).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** User-mode CPU, in clock ticks. */
  utime: number;
  /** Kernel-mode CPU, in clock ticks. */
  stime: number;
}

/**
 * Parses the one line of /proc/<pid>/stat. The command name sits in parentheses and may itself hold
 * spaces and parentheses, so fields are counted from the last ')' (proc(5)).
 */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc/<pid>/stat field ${n} is missing`);
    return v;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: field(4),
    utime: field(14),
    stime: field(15),
  };
}

/** Resident set size in kB from the text of /proc/<pid>/status (the VmRSS line); NaN when absent. */
export function parseStatusRssKb(text: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * Busy and total clock ticks of the whole machine, from the `cpu` line of /proc/stat (proc(5)): busy is
 * everything but idle and iowait. Compared with our own processes, it shows how much else ran during a
 * window (this machine is shared; other work skews figures).
 */
export function parseMachineCpu(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Busy CPU of the whole machine so far, in ms (summed over cores). */
export function machineBusyMs(): number {
  return (parseMachineCpu(readFileSync('/proc/stat', 'utf8')).busy * 1000) / clockTicksPerSecond();
}

let clockTicks: number | undefined;

/** USER_HZ, from `getconf CLK_TCK`; 100 (the value on every common Linux build) if getconf is missing. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // the process has gone
  }
}

/** The pid and all its live descendants, found by scanning the ppid of every process. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(stat.pid);
    else children.set(stat.ppid, [stat.pid]);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export interface TreeSample {
  /** CPU of the whole tree in milliseconds (utime+stime converted from clock ticks). */
  cpuMs: number;
  /** Summed resident memory of the tree in MB. */
  rssMb: number;
  pids: number[];
}

/** One reading of a process tree. `pids` fixes the members (so before/after readings cover the same set). */
export function sampleTree(pids: readonly number[]): TreeSample {
  const hz = clockTicksPerSecond();
  let ticks = 0;
  let rssKb = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (!stat) continue;
    ticks += stat.utime + stat.stime;
    try {
      const rss = parseStatusRssKb(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!Number.isNaN(rss)) rssKb += rss;
    } catch {
      // gone between the two reads
    }
  }
  return { cpuMs: (ticks * 1000) / hz, rssMb: rssKb / 1024, pids: [...pids] };
}
