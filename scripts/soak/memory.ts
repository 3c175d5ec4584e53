/**
 * @module soak/memory
 * One memory sample of a replica: SIGUSR2 makes the replica's GC probe (gc-probe.ts) run a full GC and
 * append process.memoryUsage(); once that line is there we read VmRSS from /proc/<pid>/status and count
 * /proc/<pid>/fd. So RSS and descriptors are read right after the collection, heap "after GC" is
 * heapUsed just after gc().
 */
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../bench/processes.js';

export interface MemorySample {
  /** Seconds since the soak's start. */
  t: number;
  rssBytes: number;
  heapAfterGcBytes: number;
  fds: number;
  /** V8's committed heap (heapTotal) and its young generation (new_space), to tell V8 sizing from a leak. */
  heapTotalBytes?: number;
  newSpaceBytes?: number;
}

function lines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  } catch {
    return [];
  }
}

export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

export function fdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Signals the replica and waits (up to 5 s) for its heap line. */
export async function sampleMemory(pid: number, memPath: string, t: number): Promise<MemorySample> {
  const before = lines(memPath).length;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 5_000;
  for (;;) {
    const all = lines(memPath);
    if (all.length > before) {
      const heap = JSON.parse(all[all.length - 1] as string) as { heapUsed: number; heapTotal: number; spaces?: Record<string, number> };
      const sample: MemorySample = { t, rssBytes: rssOf(pid), heapAfterGcBytes: heap.heapUsed, fds: fdsOf(pid), heapTotalBytes: heap.heapTotal };
      if (heap.spaces?.new_space !== undefined) sample.newSpaceBytes = heap.spaces.new_space;
      return sample;
    }
    if (Date.now() > deadline) throw new Error(`no heap sample from pid ${pid} within 5 s (${memPath})`);
    await sleep(20);
  }
}
