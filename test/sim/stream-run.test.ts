/**
 * The stream pump against a response double whose buffer we fill on purpose: with the kernel's socket
 * buffers in the way, a real socket would need megabytes before `write` returns false.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { SimContext } from '../../vllm/sim/context.js';
import { resolveOptions } from '../../vllm/sim/options.js';
import { planChat } from '../../vllm/sim/plan-chat.js';
import { StreamRun } from '../../vllm/sim/stream-run.js';
import { simulatedText } from '../../vllm/sim/text.js';
import { sleep, sseData } from './support.js';

/** The members of ServerResponse the run uses; `full` makes write() report a full buffer. */
class ResponseDouble extends EventEmitter {
  readonly events: string[] = [];
  full = false;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  closed = false;
  socket = { destroyed: false, destroy: (): void => undefined };
  writeHead(): this {
    this.headersSent = true;
    return this;
  }
  flushHeaders(): void {}
  write(chunk: string): boolean {
    this.events.push(chunk);
    return !this.full;
  }
  end(chunk?: string): void {
    if (chunk) this.events.push(chunk);
    this.writableEnded = true;
  }
}

describe('stream pump', () => {
  it('waits for drain when write() returns false, then merges the tokens that came due into one event', async () => {
    const ctx = new SimContext(resolveOptions({ ttftMs: 0, itlMs: 5, outputTokens: 1000 }));
    const { plan } = planChat({ messages: [{ role: 'user', content: 'merge' }], stream: true, max_tokens: 120 }, { config: ctx.config, engineDead: false });
    const res = new ResponseDouble();
    const record = ctx.log.start('POST', '/v1/chat/completions', {}, {}, true);
    new StreamRun(ctx, plan!, res as unknown as ServerResponse, record, 'x').begin();
    await sleep(30);
    res.full = true;
    await sleep(20);
    const stalledAt = res.events.length;
    await sleep(200);
    // Nothing is written while the buffer is full.
    expect(res.events.length).toBe(stalledAt);
    res.full = false;
    res.emit('drain');
    await sleep(20);
    const merged = sseData(res.events.slice(stalledAt).join(''))[0] as string;
    const content = (JSON.parse(merged) as { choices: Array<{ delta: { content: string } }> }).choices[0]?.delta.content ?? '';
    // About 200 ms of tokens at 5 ms each came due during the wait.
    expect(content.split(' ').filter(Boolean).length).toBeGreaterThan(20);
    await sleep(400);
    expect(res.writableEnded).toBe(true);
    const text = sseData(res.events.join(''))
      .filter((e) => e !== '[DONE]')
      .map((e) => (JSON.parse(e) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    expect(text).toBe(simulatedText('merge', 120));
    expect(record).toMatchObject({ outcome: 'completed', completionTokens: 120 });
  });

  it('with itl=0 writes until the buffer is full, then stops until drain', async () => {
    const ctx = new SimContext(resolveOptions({ ttftMs: 0, itlMs: 0, outputTokens: 1000 }));
    const { plan } = planChat({ messages: [{ role: 'user', content: 'fast' }], stream: true, max_tokens: 500 }, { config: ctx.config, engineDead: false });
    const res = new ResponseDouble();
    res.full = true;
    const record = ctx.log.start('POST', '/v1/chat/completions', {}, {}, true);
    new StreamRun(ctx, plan!, res as unknown as ServerResponse, record, 'y').begin();
    await sleep(50);
    // The role chunk and one token event, then the pump waits.
    expect(res.events).toHaveLength(2);
    expect(record.completionTokens).toBe(1);
    res.full = false;
    res.emit('drain');
    await sleep(50);
    expect(record).toMatchObject({ outcome: 'completed', completionTokens: 500 });
  });
});
