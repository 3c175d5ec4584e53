/**
 * @module soak/gc-probe
 * Preloaded into each gateway replica of the soak, so "heap after GC" can be read without an inspector or
 * an endpoint in the gateway: `node --expose-gc --import dist/scripts/soak/gc-probe.js dist/gateway/main.js`.
 * On SIGUSR2 it runs a full, synchronous collection (`gc()`, which --expose-gc provides) and appends one
 * JSON line with `process.memoryUsage()` to the file named by SOAK_MEM_FILE. The soak sends the signal,
 * waits for the new line and reads RSS and the open descriptors from /proc/<pid> at the same moment.
 * SIGUSR2 is free: Node uses SIGUSR1 for the inspector, the gateway handles SIGTERM, SIGINT and SIGHUP.
 * A signal listener does not keep the process alive, so the replica still exits on its own.
 */
import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.SOAK_MEM_FILE;
const gc = (globalThis as { gc?: () => void }).gc;

if (file && gc) {
  process.on('SIGUSR2', function reportHeapAfterGc() {
    gc();
    const m = process.memoryUsage();
    // Committed bytes per V8 space, to tell a young generation that grew from live objects that pile up.
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    const line = { at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, spaces };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
} else if (file) {
  process.stderr.write('soak gc-probe: gc() is missing (start node with --expose-gc); no heap samples\n');
}
