/**
 * @module bench/bare-proxy
 * The floor for a Node gateway: node:http in front of an undici pool, body bytes piped straight through,
 * no checks of any kind. It only aborts upstream when the client goes away, so the idle-stream scenario
 * does not leave streams running in the simulator. `UPSTREAM` (origin) and `PORT` come from the benchmark.
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new Pool(process.env.UPSTREAM ?? 'http://127.0.0.1:8000', { connections: 4096, pipelining: 1 });

createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const headers = { 'content-type': req.headers['content-type'] ?? 'application/json' };
    upstream
      .request({ method: 'POST', path: req.url ?? '/', headers, body: Buffer.concat(parts), signal: abort.signal })
      .then(({ statusCode, headers: up, body }) => {
        const out: Record<string, string> = { 'content-type': String(up['content-type'] ?? 'application/json') };
        if (up['content-length'] !== undefined) out['content-length'] = String(up['content-length']);
        res.writeHead(statusCode, out);
        body.pipe(res);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
  });
}).listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write('bare proxy listening\n'));

// A clean exit on SIGTERM, so `node --cpu-prof` gets to write its profile.
process.once('SIGTERM', () => process.exit(0));
