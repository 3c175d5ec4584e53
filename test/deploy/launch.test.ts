/**
 * vllm/launch.sh, run for real with VLLM_BIN pointing at a script that prints its arguments one per line:
 * the flags vLLM would get (vllm.md 8), the environment overrides, and the refusals.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './s-yaml.js';

const dir = mkdtempSync(join(tmpdir(), 'launch-test-'));
const printArgs = join(dir, 'print-args');
writeFileSync(printArgs, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
chmodSync(printArgs, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  args: string[];
  stderr: string;
}

function launch(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [join(REPO_ROOT, 'vllm/launch.sh')],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VLLM_BIN: printArgs, VLLM_API_KEY: 'engine-key', ...env }, timeout: 10_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, args: stdout.split('\n').filter((l) => l.length > 0), stderr });
      },
    );
  });
}

/** The value after `flag`, or undefined. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('vllm/launch.sh', () => {
  it('starts `vllm serve` with the T4 flags from vllm.md 8 and no --quantization', async () => {
    const { code, args } = await launch({});
    expect(code).toBe(0);
    expect(args.slice(0, 2)).toEqual(['serve', 'Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4']);
    expect(flag(args, '--revision')).toMatch(/^[0-9a-f]{40}$/);
    expect(flag(args, '--host')).toBe('127.0.0.1');
    expect(flag(args, '--port')).toBe('8000');
    expect(flag(args, '--served-model-name')).toBe('qwen2.5-7b-instruct');
    expect(flag(args, '--dtype')).toBe('float16');
    expect(flag(args, '--max-model-len')).toBe('16384');
    expect(flag(args, '--gpu-memory-utilization')).toBe('0.90');
    expect(flag(args, '--max-num-seqs')).toBe('32');
    expect(args).toContain('--enable-auto-tool-choice');
    expect(flag(args, '--tool-call-parser')).toBe('hermes');
    expect(args.some((a) => a.startsWith('--quantization'))).toBe(false);
  });

  it('keeps the API key out of the command line (vLLM reads VLLM_API_KEY itself, vllm.md 6)', async () => {
    const { code, args, stderr } = await launch({ VLLM_API_KEY: 'secret-engine-key' });
    expect(code).toBe(0);
    expect(args.join(' ')).not.toContain('secret-engine-key');
    expect(stderr).not.toContain('secret-engine-key');
  });

  it('takes every value from the environment', async () => {
    const { code, args } = await launch({
      ENGINE_HOST: '0.0.0.0',
      ENGINE_PORT: '18000',
      SERVED_MODEL_NAME: 'qwen alias-two',
      DTYPE: 'half',
      MAX_MODEL_LEN: '8192',
      GPU_MEMORY_UTILIZATION: '0.85',
      MAX_NUM_SEQS: '16',
      TOOL_CALL_PARSER: 'pythonic',
      MODEL_ID: 'Qwen/Qwen2.5-0.5B-Instruct',
      MODEL_REVISION: 'abc',
      ENGINE_EXTRA_ARGS: '--enforce-eager --seed 7',
    });
    expect(code).toBe(0);
    expect(args.slice(0, 4)).toEqual(['serve', 'Qwen/Qwen2.5-0.5B-Instruct', '--revision', 'abc']);
    expect(flag(args, '--host')).toBe('0.0.0.0');
    expect(flag(args, '--port')).toBe('18000');
    const names = args.indexOf('--served-model-name');
    expect(args.slice(names + 1, names + 3)).toEqual(['qwen', 'alias-two']);
    expect(flag(args, '--dtype')).toBe('half');
    expect(flag(args, '--max-model-len')).toBe('8192');
    expect(flag(args, '--gpu-memory-utilization')).toBe('0.85');
    expect(flag(args, '--max-num-seqs')).toBe('16');
    expect(flag(args, '--tool-call-parser')).toBe('pythonic');
    expect(args.slice(-3)).toEqual(['--enforce-eager', '--seed', '7']);
  });

  it('serves a local checkpoint from MODEL_PATH without a revision', async () => {
    const model = join(dir, 'model');
    mkdirSync(model, { recursive: true });
    writeFileSync(join(model, 'config.json'), '{}');
    const { code, args } = await launch({ MODEL_PATH: model });
    expect(code).toBe(0);
    expect(args.slice(0, 2)).toEqual(['serve', model]);
    expect(args).not.toContain('--revision');
  });

  it.each([
    ['MODEL_PATH without a checkpoint', { MODEL_PATH: '/nonexistent/model' }, /MODEL_PATH=\/nonexistent\/model has no config\.json/],
    ['no VLLM_API_KEY', { VLLM_API_KEY: '' }, /VLLM_API_KEY is not set/],
    ['a bad MAX_NUM_SEQS', { MAX_NUM_SEQS: 'lots' }, /MAX_NUM_SEQS must be/],
    ['a bad GPU_MEMORY_UTILIZATION', { GPU_MEMORY_UTILIZATION: '90' }, /GPU_MEMORY_UTILIZATION must be/],
    ['bfloat16 (a T4 has none)', { DTYPE: 'bfloat16' }, /DTYPE must be float16/],
    ['a bad ENGINE_PORT', { ENGINE_PORT: '70000' }, /ENGINE_PORT must be/],
  ])('refuses %s with exit code 2 and a message naming the variable', async (_what, env, message) => {
    const { code, args, stderr } = await launch(env);
    expect(code).toBe(2);
    expect(args).toEqual([]);
    expect(stderr).toMatch(message);
  });
});
