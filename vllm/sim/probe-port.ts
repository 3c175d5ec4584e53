/**
 * @module sim/probe-port
 * A free TCP port, found synchronously. The simulator must publish its URL while the "model loads", yet
 * during the load its port has to refuse connections (vllm.md 1.1), so it cannot hold a listening
 * socket; and Node has no synchronous listen. A short-lived child process binds port 0 and reports the
 * port the kernel chose (about 50 ms). Another process could take the port before the simulator listens
 * on it; the simulator's `ready` then rejects with EADDRINUSE.
 */
import { execFileSync } from 'node:child_process';

const PROBE = "const s=require('node:net').createServer();s.listen(0,process.argv[1],()=>{process.stdout.write(String(s.address().port));s.close();});";

export function probeFreePort(host: string): number {
  const out = execFileSync(process.execPath, ['-e', PROBE, host], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = Number(out.trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`could not find a free port on ${host}: ${out}`);
  return port;
}
