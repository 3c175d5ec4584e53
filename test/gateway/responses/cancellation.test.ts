/**
 * A client leaving a Responses stream mid-answer aborts vLLM at once, as on every route (issue 12): the
 * simulator records the request as aborted long before its natural end, and nothing of it is stored as
 * completed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRequestEnd, startStack, type Stack } from '../../support/stack.js';

let stack: Stack;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vg-resp-abort-'));
  stack = await startStack({ sim: { ttftMs: 0, itlMs: 50, outputTokens: 200 }, env: { DATA_DIR: dir } });
});
afterAll(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Responses stream, client gone', () => {
  it('aborts the upstream request mid-stream', async () => {
    const ended = nextRequestEnd(stack.sim, 5_000);
    const ctl = new AbortController();
    const res = await fetch(`${stack.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen2.5-7b-instruct', input: 'a long story', stream: true, max_output_tokens: 200 }),
      signal: ctl.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('response.output_text.delta')) text += new TextDecoder().decode((await reader.read()).value);
    const t0 = performance.now();
    ctl.abort();
    const record = await ended;
    expect(record.outcome).toBe('aborted');
    // 200 tokens 50 ms apart would take 10 s; the abort lands within a few token times.
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(record.completionTokens).toBeLessThan(50);
  });
});
