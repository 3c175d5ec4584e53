/**
 * The README's quickstart, as written, on the machine a new user has: a fresh clone of this repository's
 * committed HEAD, a shell whose `node` is older than the project's (Debian 12 ships Node 20), and the
 * commands of the first code block under "## Quickstart". `npm ci` must bring the project's Node
 * (the `node` devDependency), so `npm run build && npm start` serves an OpenAI SDK client from the
 * simulator, `npm test` and `npm run smoke` run on Node 24, and the built entry point started with the
 * old Node directly says so in one line.
 * Takes a minute or two (`npm ci` in the clone). Runs everywhere, CI included; SKIP_QUICKSTART=1 skips it
 * outside CI only.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOldNode, freshShellEnv, PROJECT_NODE_MAJOR, type OldNode } from './old-node.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SETUP_TIMEOUT_MS = 15 * 60_000;
const skip = process.env.SKIP_QUICKSTART === '1' && process.env.CI !== 'true';

/** The commands of the first fenced code block under "## Quickstart", comments dropped. */
function quickstartCommands(readme: string): string[] {
  const section = /^## Quickstart\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  const block = section && /^```(?:sh|bash|shell)?\n([\s\S]*?)^```/m.exec(section)?.[1];
  if (!block) throw new Error('README.md: no code block under "## Quickstart"');
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'));
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

const tail = (text: string, lines = 40): string => text.split('\n').slice(-lines).join('\n');

describe.skipIf(skip)('README quickstart on a fresh clone with an old Node first on PATH', () => {
  const commands = quickstartCommands(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
  const startCommand = commands.find((c) => /\bnpm start\b/.test(c));
  const testCommand = commands.find((c) => /^npm test\b/.test(c));
  let dir: string;
  let clone: string;
  let oldNode: OldNode;
  let env: Record<string, string>;
  let gateway: ChildProcess | undefined;
  let gatewayClosed: Promise<unknown> = Promise.resolve();
  let out = '';
  let err = '';
  let port: number;

  beforeAll(async () => {
    expect(startCommand, `README quickstart commands: ${JSON.stringify(commands)}`).toBeDefined();
    oldNode = findOldNode();
    dir = mkdtempSync(join(tmpdir(), 'quickstart-'));
    clone = join(dir, 'vllm-gateway');
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone], { stdio: ['ignore', 'ignore', 'inherit'] });
    port = await freePort();
    // The gateway reads PORT and HOST (gateway/config.ts); the README's command is run unchanged.
    env = freshShellEnv(oldNode, { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    gateway = spawn('sh', ['-c', startCommand!], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close': the last process of the group (sh, npm, sh, node) has let go of stdout, not only sh.
    gatewayClosed = once(gateway, 'close').catch(() => undefined);
    gateway.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    gateway.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let exited = false;
    void once(gateway, 'exit').then(
      () => (exited = true),
      () => (exited = true),
    );
    while (!exited && !/"msg":"gateway listening"/.test(out)) await new Promise((r) => setTimeout(r, 250));
    if (exited) {
      throw new Error(`"${startCommand}" exited with ${String(gateway.exitCode)} before listening\n--- stdout\n${tail(out)}\n--- stderr\n${tail(err)}`);
    }
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (gateway?.pid) {
      try {
        process.kill(-gateway.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      await gatewayClosed;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('is "npm ci && npm run build && npm start" and "npm test", run with a Node older than 24', () => {
    expect(startCommand).toBe('npm ci && npm run build && npm start');
    expect(testCommand).toBe('npm test');
    expect(Number(oldNode.version.split('.')[0])).toBeLessThan(PROJECT_NODE_MAJOR);
    expect(execFileSync('sh', ['-c', 'node -p process.versions.node'], { env, encoding: 'utf8' }).trim()).toBe(oldNode.version);
  });

  it('starts the gateway on the simulator, on the PORT it was given', () => {
    const listening = out.split('\n').find((line) => line.includes('"msg":"gateway listening"'));
    expect(JSON.parse(listening!)).toMatchObject({ port, host: '127.0.0.1' });
    expect(err).toMatch(/SIMULATOR/);
    expect(err + out).not.toMatch(/too old|TypeError|\n\s+at /);
  });

  it('answers the OpenAI SDK, streaming and not', async () => {
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'Say hello' }];
    const answer = await client.chat.completions.create({ model: 'qwen2.5-7b-instruct', messages, max_tokens: 8 });
    expect(answer.choices[0]!.message.content).toBeTruthy();
    expect(answer.usage?.completion_tokens).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({ model: 'qwen2.5-7b-instruct', messages, max_tokens: 8, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(answer.choices[0]!.message.content);
  }, 60_000);

  it('runs "npm run smoke" (scripts/smoke.ts, straight from TypeScript) against it', () => {
    const r = spawnSync('sh', ['-c', `npm run smoke -- --url http://127.0.0.1:${port}`], { cwd: clone, env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  }, 150_000);

  it('stops on SIGTERM after draining', async () => {
    // The whole process group gets the signal, as from a terminal's Ctrl-C.
    process.kill(-gateway!.pid!, 'SIGTERM');
    await gatewayClosed;
    expect(out).toMatch(/"msg":"gateway stopped"/);
  }, 60_000);

  it('runs "npm test" on the project Node', () => {
    const r = spawnSync('sh', ['-c', `${testCommand!} -- test/quickstart/project-node.test.ts`], {
      cwd: clone,
      env,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, `${tail(r.stdout)}\n${tail(r.stderr)}`).toBe(0);
    expect(r.stdout).toMatch(/1 passed/);
  }, 330_000);

  it('says in one line, exit code 1, that the old Node is too old when started with it directly', () => {
    const r = spawnSync(oldNode.path, ['dist/gateway/main.js'], { cwd: clone, env, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`^vllm-gateway: Node v${oldNode.version.replaceAll('.', '\\.')} is too old; it needs Node >= ${PROJECT_NODE_MAJOR}\\. Run "npm ci" .*"npm start".*\\n$`),
    );
    expect(r.stderr.split('\n')).toHaveLength(2);
  });
});
