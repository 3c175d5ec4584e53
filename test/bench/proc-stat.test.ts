import { describe, expect, it } from 'vitest';
import { clockTicksPerSecond, parseMachineCpu, parseStat, parseStatusRssKb, processTree, sampleTree } from '../../scripts/bench/proc-stat.js';

// A real line from /proc/<pid>/stat (node), fields 1-52.
const NODE_STAT =
  '4242 (node) S 4200 4242 4200 34816 4242 4194304 11913 0 0 0 321 45 0 0 20 0 11 0 912345 1234567890 30123 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0';

describe('parseStat', () => {
  it('reads pid, name, state, ppid, utime and stime', () => {
    expect(parseStat(NODE_STAT)).toEqual({ pid: 4242, comm: 'node', state: 'S', ppid: 4200, utime: 321, stime: 45 });
  });

  it('counts fields from the last parenthesis, whatever the command name holds', () => {
    const odd = NODE_STAT.replace('(node)', '(a) b (c) d)');
    const s = parseStat(odd);
    expect(s.comm).toBe('a) b (c) d');
    expect(s.utime).toBe(321);
    expect(s.stime).toBe(45);
    expect(s.ppid).toBe(4200);
  });

  it('rejects text that is not a stat line', () => {
    expect(() => parseStat('garbage')).toThrow(/not a \/proc/);
    expect(() => parseStat('1 (x) S 0')).toThrow(/field/);
  });
});

describe('parseStatusRssKb', () => {
  it('reads VmRSS in kB', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  99000 kB\nVmRSS:\t   81234 kB\nThreads:\t11\n';
    expect(parseStatusRssKb(status)).toBe(81234);
  });

  it('is NaN for a kernel thread (no VmRSS line)', () => {
    expect(parseStatusRssKb('Name:\tkthreadd\nState:\tS (sleeping)\n')).toBeNaN();
  });
});

describe('parseMachineCpu', () => {
  it('counts everything but idle and iowait as busy, guest time not twice', () => {
    const text = 'cpu  100 5 50 1000 20 3 7 0 40 0\ncpu0 50 2 25 500 10 1 3 0 20 0\nintr 12345\n';
    expect(parseMachineCpu(text)).toEqual({ busy: 165, total: 1185 });
  });

  it('rejects text without the aggregate line', () => {
    expect(() => parseMachineCpu('cpu0 1 2 3 4\n')).toThrow(/aggregate/);
  });
});

describe('reading this process from /proc', () => {
  it('finds a spawned child in its tree and measures CPU and memory of the tree', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const tree = processTree(process.pid);
      expect(tree[0]).toBe(process.pid);
      expect(tree).toContain(child.pid);
      const sample = sampleTree(tree);
      expect(sample.cpuMs).toBeGreaterThan(0);
      expect(sample.rssMb).toBeGreaterThan(10);
      expect(clockTicksPerSecond()).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('skips pids that have gone', () => {
    const sample = sampleTree([2 ** 22 + 12345]);
    expect(sample.cpuMs).toBe(0);
    expect(sample.rssMb).toBe(0);
  });
});
