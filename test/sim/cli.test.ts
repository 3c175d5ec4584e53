/**
 * The command line of `vllm serve` (vllm.md 8), parsed the way the real server reads it, and the CLI
 * process itself: ready log line, SIGTERM → exit 0 with open streams cut, engine death → exit 1.
 */
import { describe, expect, it } from 'vitest';
import { CliUsageError, parseServeArgs } from '../../vllm/sim/cli-args.js';
import { probeFreePort } from '../../vllm/sim/probe-port.js';
import { runCli } from './support.js';

const launch = [
  'serve', '/models/Qwen2.5-7B-Instruct-GPTQ-Int4', '--served-model-name', 'qwen2.5-7b-instruct', 'qwen',
  '--dtype', 'float16', '--max-model-len', '16384', '--gpu-memory-utilization', '0.90', '--max-num-seqs', '32',
  '--enable-auto-tool-choice', '--tool-call-parser', 'hermes', '--enforce-eager', '--disable-log-requests',
  '--generation-config', 'vllm', '--api-key', 'secret',
];

describe('parseServeArgs', () => {
  it('reads our launch script line and notes every flag it ignores', () => {
    const cmd = parseServeArgs(launch, {});
    expect(cmd.options).toEqual({
      host: '0.0.0.0',
      port: 8000,
      model: '/models/Qwen2.5-7B-Instruct-GPTQ-Int4',
      servedModelNames: ['qwen2.5-7b-instruct', 'qwen'],
      maxModelLen: 16384,
      maxNumSeqs: 32,
      enableAutoToolChoice: true,
      apiKeys: ['secret'],
    });
    expect(cmd.notes).toEqual([
      'ignoring --dtype float16 (no effect on the simulator)',
      'ignoring --gpu-memory-utilization 0.90 (no effect on the simulator)',
      'tool call parser "hermes": the simulator answers tool calls in the hermes format',
      'ignoring --enforce-eager (no effect on the simulator)',
      'ignoring --disable-log-requests (no effect on the simulator)',
      'ignoring --generation-config vllm (no effect on the simulator)',
    ]);
    expect(cmd.help).toBe(false);
  });

  it('takes --model, --flag=value, several api keys, human-readable lengths; positional model wins', () => {
    const cmd = parseServeArgs(['--model', '/m', '--port=9000', '--host', '127.0.0.1', '--api-key', 'a', 'b', '--max-model-len', '16k'], {});
    expect(cmd.options).toMatchObject({ model: '/m', port: 9000, host: '127.0.0.1', apiKeys: ['a', 'b'], maxModelLen: 16000, enableAutoToolChoice: false });
    expect(parseServeArgs(['serve', 'pos', '--model', 'flag'], {}).options.model).toBe('pos');
    expect(parseServeArgs(['--max-model-len', '32K'], {}).options.maxModelLen).toBe(32768);
    expect(parseServeArgs(['--max-model-len', 'auto'], {}).options.maxModelLen).toBe(32768);
    expect(parseServeArgs(['--unknown-flag', '--port', '1'], {}).notes).toEqual(['ignoring --unknown-flag (no effect on the simulator)']);
  });

  it('uses VLLM_API_KEY only without --api-key, and the SIM_* knobs', () => {
    const env = {
      VLLM_API_KEY: 'from-env', SIM_LOAD_MS: '100', SIM_TTFT_MS: '7', SIM_ITL_MS: '0', SIM_OUTPUT_TOKENS: '9', SIM_TOKENS_PER_CHUNK: '2',
      SIM_FAULT: 'itl=3', SIM_DEATH_EXIT_MS: '50', SIM_ENGINE_DEATH_AFTER_MS: '1000',
    };
    const cmd = parseServeArgs(['serve', 'm'], env);
    expect(cmd.options).toMatchObject({ apiKeys: ['from-env'], loadMs: 100, ttftMs: 7, itlMs: 0, outputTokens: 9, tokensPerChunk: 2, fault: 'itl=3', deathExitMs: 50 });
    expect(cmd.engineDeathAfterMs).toBe(1000);
    expect(parseServeArgs(['serve', 'm', '--api-key', 'cli'], env).options.apiKeys).toEqual(['cli']);
  });

  it('maps vLLM\'s cache flags and SIM_PREFILL_MS_PER_TOKEN', () => {
    const cmd = parseServeArgs(['serve', 'm', '--block-size', '32', '--num-gpu-blocks-override', '64', '--no-enable-prefix-caching'], { SIM_PREFILL_MS_PER_TOKEN: '0.5' });
    expect(cmd.options).toMatchObject({ blockSize: 32, kvCacheBlocks: 64, enablePrefixCaching: false, prefillMsPerToken: 0.5 });
    expect(cmd.notes).toEqual([]);
    expect(parseServeArgs(['serve', 'm', '--enable-prefix-caching'], {}).options.enablePrefixCaching).toBe(true);
    expect(() => parseServeArgs(['serve', 'm'], { SIM_PREFILL_MS_PER_TOKEN: '-1' })).toThrow(/SIM_PREFILL_MS_PER_TOKEN/);
  });

  it('rejects what argparse would reject', () => {
    expect(() => parseServeArgs(['serve', 'a', 'b'], {})).toThrow(CliUsageError);
    expect(() => parseServeArgs(['--port', 'eighty'], {})).toThrow(/expected a non-negative integer/);
    expect(() => parseServeArgs(['--served-model-name'], {})).toThrow(/expected at least one argument/);
    expect(() => parseServeArgs(['--max-model-len', 'lots'], {})).toThrow(CliUsageError);
    expect(() => parseServeArgs(['serve', 'm'], { SIM_ITL_MS: 'fast' })).toThrow(/SIM_ITL_MS/);
  });
});

describe('the CLI process', () => {
  it('logs its routes and readiness, serves, and exits 0 on SIGTERM cutting open streams without [DONE]', async () => {
    const port = probeFreePort('127.0.0.1');
    const cli = runCli(['serve', '/models/q', '--host', '127.0.0.1', '--port', String(port), '--served-model-name', 'q', '--dtype', 'half'], { SIM_ITL_MS: '50' });
    try {
      await cli.waitFor(/Starting vLLM API server 0 on http:\/\/127\.0\.0\.1:\d+/);
      expect(cli.output()).toMatch(/routes: GET \/health, GET\|POST \/ping/);
      expect(cli.output()).toContain('ignoring --dtype half');
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'q', messages: [{ role: 'user', content: 'x' }], stream: true, max_tokens: 500 }),
      });
      expect(res.status).toBe(200);
      const body = res.text().catch(() => 'cut');
      await new Promise((r) => setTimeout(r, 150));
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      const text = await body;
      expect(text).not.toContain('[DONE]');
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('exits 1 after engine death (SIM_ENGINE_DEATH_AFTER_MS), /health 503 in between', async () => {
    const port = probeFreePort('127.0.0.1');
    const cli = runCli(['serve', 'm', '--host', '127.0.0.1', '--port', String(port)], { SIM_ENGINE_DEATH_AFTER_MS: '100', SIM_DEATH_EXIT_MS: '600' });
    try {
      await cli.waitFor(/simulated engine death/);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(503);
      expect(await cli.exited).toBe(1);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('prints usage and exits 2 on a bad argument or a bad SIM_FAULT', async () => {
    const cli = runCli(['serve', '--port', 'eighty']);
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toMatch(/usage: vllm serve/);
    const fault = runCli(['serve', 'm', '--port', '1'], { SIM_FAULT: 'explode' });
    expect(await fault.exited).toBe(2);
    expect(fault.output()).toMatch(/unknown simulator fault "explode"/);
  });
});
