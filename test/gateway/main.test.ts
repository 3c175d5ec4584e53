/**
 * The process itself (gateway/main.ts run from source): configuration errors stop it with exit code 1
 * and a message naming the variable; without VLLM_URL it serves from the simulator and says so loudly;
 * SIGTERM drains and exits 0. And its entry point on a Node that is too old: one line, exit code 1,
 * before anything of the gateway is loaded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findOldNode, PROJECT_NODE_MAJOR, type OldNode } from '../quickstart/old-node.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, out: () => stdout, err: () => stderr };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('gateway process', () => {
  it('exits 1 naming the variable when a value is bad', async () => {
    const p = run({ PORT: 'nine thousand' });
    expect(await exitCode(p.child)).toBe(1);
    expect(p.err()).toMatch(/PORT: must be a number/);
  });

  it('refuses to start in production without VLLM_URL', async () => {
    const p = run({ NODE_ENV: 'production' });
    expect(await exitCode(p.child)).toBe(1);
    expect(p.err()).toMatch(/VLLM_URL: is required when NODE_ENV=production/);
  });

  it('refuses a real VLLM_URL without API keys unless ALLOW_ANONYMOUS=true', async () => {
    const p = run({ VLLM_URL: 'http://127.0.0.1:9' });
    expect(await exitCode(p.child)).toBe(1);
    expect(p.err()).toMatch(/ALLOW_ANONYMOUS=true/);
  });

  it('serves an OpenAI SDK client from the built-in simulator, says so, and exits 0 on SIGTERM', async () => {
    const p = run({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    const deadline = Date.now() + 20_000;
    let port: number | undefined;
    while (!port && Date.now() < deadline) {
      const m = p.out().match(/"msg":"gateway listening"/) ? p.out().match(/"port":(\d+)/) : null;
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(port).toBeDefined();
    expect(p.err()).toMatch(/SIMULATOR/);
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 });
    const res = await client.chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    expect(res.choices[0]!.message.content).toBeTruthy();
    const stream = await client.chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(res.choices[0]!.message.content);
    p.child.kill('SIGTERM');
    expect(await exitCode(p.child)).toBe(0);
    expect(p.out()).toMatch(/"msg":"gateway stopped"/);
  }, 30_000);
});

describe('entry point on an old Node', () => {
  // gateway/main.ts compiled alone, beside a process-main.js that only says it was loaded: what runs
  // before the gateway's own modules (and their dependencies) are imported.
  let dir: string;
  let oldNode: OldNode;
  beforeAll(() => {
    oldNode = findOldNode();
    dir = mkdtempSync(join(tmpdir(), 'entry-'));
    const source = readFileSync('gateway/main.ts', 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 } });
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(join(dir, 'main.js'), outputText);
    writeFileSync(join(dir, 'process-main.js'), "process.stdout.write('process-main loaded\\n');\n");
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says in one line which Node it found, which it needs and what to run, and exits 1', () => {
    const r = spawnSync(oldNode.path, [join(dir, 'main.js')], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `vllm-gateway: Node v${oldNode.version} is too old; it needs Node >= ${PROJECT_NODE_MAJOR}. ` +
        `Run "npm ci" (it installs the project's Node ${PROJECT_NODE_MAJOR}) and start with "npm start" ` +
        `(or node_modules/.bin/node dist/gateway/main.js).\n`,
    );
  });

  it('loads the process on the project Node', () => {
    const r = spawnSync(process.execPath, [join(dir, 'main.js')], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('process-main loaded\n');
    expect(r.status).toBe(0);
  });

  it('checks for the project Node major (package.json "engines", test/quickstart/node-pins.test.ts)', () => {
    expect(readFileSync('gateway/main.ts', 'utf8')).toContain(`const NODE_MAJOR_NEEDED = ${PROJECT_NODE_MAJOR};`);
  });
});
