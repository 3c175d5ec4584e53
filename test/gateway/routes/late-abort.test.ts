/**
 * A client that leaves after a non-streaming answer's headers arrived (vLLM sends them only once
 * generation is over, vllm.md 4) leaves nothing to cancel: the gateway reads the rest, and the tokens the
 * backend generated are counted (gateway_tokens_total, the log line, the key's TPM), not lost. Found by
 * the soak (bench/results/soak/findings.md). The upstream is scripted here, so the gap between headers
 * and body is exact.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../gateway/config.js';
import { startGateway, type RunningGateway } from '../../../gateway/server.js';

const MODEL = 'qwen2.5-7b-instruct';
let upstream: Server;
let gw: RunningGateway;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === '/health') return res.end();
    if (req.url === '/v1/models') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', max_model_len: 4096 }] }));
    }
    req.resume();
    // Headers now, the body 300 ms later: the window in which the client leaves.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    setTimeout(() => {
      res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', model: MODEL, choices: [{ index: 0, message: { role: 'assistant', content: 'done' }, finish_reason: 'stop' }], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }));
    }, 300);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  gw = await startGateway(parseConfig({ VLLM_URL: `http://127.0.0.1:${port}`, PORT: '0', HOST: '127.0.0.1', ALLOW_ANONYMOUS: 'true', BACKEND_METRICS_INTERVAL_MS: '60000' }), { logDestination: destination });
  await gw.waitReady(5_000);
});
afterAll(async () => {
  await gw.shutdown();
  upstream.close();
});

describe('client gone after a non-streaming answer began', () => {
  it('counts the usage of the answer the backend finished', async () => {
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 });
    await new Promise<void>((resolve) => {
      const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'late-abort-1' } });
      req.on('error', () => resolve());
      req.end(body);
      // The gateway has the upstream's headers well before 150 ms; the body comes at 300 ms.
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 150);
    });
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !line; i++) {
      await new Promise((r) => setTimeout(r, 20));
      line = logs.find((l) => l.reqId === 'late-abort-1' && l.msg === 'request');
    }
    expect(line).toMatchObject({ status: 499, clientAborted: true, tokensIn: 11, tokensOut: 7 });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`gateway_tokens_total\\{model="${MODEL}",key="anonymous",type="output"\\} 7`));
  });
});
