/**
 * After FC's pre-stop hook the process waits for the platform's signal (issue 9, part 4). `GET /pre-stop`
 * drains (in-flight answers finish) and answers 200; from then on the gateway stays up, refusing new
 * inference with 503 `shutting_down`, /health 503, /livez 200, a second /pre-stop 200 again, until
 * SIGTERM or SIGINT, and then exits 0 at once. It must never exit on its own in between: that races the
 * platform's SIGTERM (exit 143).
 *
 * Runs the BUILT gateway (dist/gateway/main.js, `npm run build`; CI builds before the tests) as a child
 * process on the project's Node (process.execPath).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../vllm/sim/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../../dist/gateway/main.js', import.meta.url));
const MODEL = 'qwen2.5-7b-instruct';
/** How long the process must stay up, idle, after the drain (today it exits by itself ~2 s after it). */
const IDLE_MS = 3_000;
/** "At once": SIGTERM with nothing in flight. */
const EXIT_WITHIN_MS = 2_500;

interface Launched {
  child: ChildProcess;
  url: string;
  out: () => string;
  err: () => string;
  /** Set when the process exits: its code, signal and when. */
  exit: () => { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function launch(env: Record<string, string>): Promise<Launched> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '10000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  const exited = new Promise<NonNullable<typeof exit>>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal, at: Date.now() };
      resolve(exit);
    }),
  );
  const deadline = Date.now() + 20_000;
  let port: number | undefined;
  while (port === undefined) {
    const line = stdout.split('\n').find((l) => l.includes('"msg":"gateway listening"'));
    const m = line?.match(/"port":(\d+)/);
    if (m) port = Number(m[1]);
    else if (exit) throw new Error(`the gateway exited (${exit.code ?? exit.signal}) before listening:\n${stderr}\n${stdout}`);
    else if (Date.now() > deadline) throw new Error(`the gateway did not listen within 20 s:\n${stderr}\n${stdout}`);
    else await sleep(50);
  }
  const url = `http://127.0.0.1:${port}`;
  while (!(await get(`${url}/health`).then((r) => r.status === 200, () => false))) {
    if (Date.now() > deadline) throw new Error('the gateway did not become ready within 20 s');
    await sleep(50);
  }
  return { child, url, out: () => stdout, err: () => stderr, exit: () => exit, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: string;
}

/**
 * One request on its own connection, closed after the answer (`agent: false`, `connection: close`), as a
 * platform's front end does: no keep-alive socket of the test's keeps the server, or the process, alive.
 */
function send(url: string, method: 'GET' | 'POST', body?: unknown, key?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { connection: 'close' };
    if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) });
    if (key) headers.authorization = `Bearer ${key}`;
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const get = (url: string) => send(url, 'GET');
const chat = (url: string, content: string, extra: Record<string, unknown> = {}, key?: string) =>
  send(`${url}/v1/chat/completions`, 'POST', { model: MODEL, messages: [{ role: 'user', content }], max_tokens: 8, ...extra }, key);

function expectAlive(p: Launched, when: string): void {
  const e = p.exit();
  expect(e, `${when}: the process exited on its own (code ${e?.code}, signal ${e?.signal})\n${p.out().slice(-2_000)}`).toBeUndefined();
}

/**
 * One cycle: a ~1.5 s stream in flight, /pre-stop while it runs, the stream finishes, IDLE_MS of idleness
 * with the process up and refusing, then `signal` and exit 0 within EXIT_WITHIN_MS.
 */
async function cycle(p: Launched, signal: NodeJS.Signals, key?: string): Promise<void> {
  // 30 tokens 50 ms apart.
  const streaming = chat(p.url, 'long answer [[sim:itl=50]]', { stream: true, max_tokens: 30 }, key);
  await sleep(300);
  const preStop = get(`${p.url}/pre-stop`);
  const answer = await streaming;
  expect(answer.status).toBe(200);
  // The drain let the answer finish: a clean end, not an error event.
  expect(answer.body.endsWith('data: [DONE]\n\n'), answer.body.slice(-300)).toBe(true);
  expect(answer.body).not.toMatch(/"error"/);
  expect((await preStop).status).toBe(200);
  const drainedAt = Date.now();

  await sleep(IDLE_MS);
  expectAlive(p, `${Date.now() - drainedAt} ms after the drain`);
  await expectRefusing(p, key);
  expectAlive(p, 'after the second /pre-stop');
  await expectPromptExit(p, signal);
}

/** Refusing inference, not ready, alive, and /pre-stop again is 200 (on new connections). */
async function expectRefusing(p: Launched, key?: string): Promise<void> {
  const late = await chat(p.url, 'too late', {}, key).catch((err: Error) => {
    throw new Error(`after /pre-stop a new connection must still be answered (503 shutting_down), got ${err.message}`);
  });
  expect(late.status).toBe(503);
  expect((JSON.parse(late.body) as { error: { code: string } }).error.code).toBe('shutting_down');
  expect((await get(`${p.url}/health`)).status).toBe(503);
  expect((await get(`${p.url}/livez`)).status).toBe(200);
  expect((await get(`${p.url}/pre-stop`)).status).toBe(200);
}

async function expectPromptExit(p: Launched, signal: NodeJS.Signals): Promise<void> {
  const t0 = Date.now();
  p.child.kill(signal);
  const e = await Promise.race([p.exited, sleep(EXIT_WITHIN_MS + 5_000).then(() => undefined)]);
  expect(e, `no exit within ${EXIT_WITHIN_MS + 5_000} ms of ${signal}`).toBeDefined();
  expect(e!.signal).toBeNull();
  expect(e!.code).toBe(0);
  expect(e!.at - t0).toBeLessThan(EXIT_WITHIN_MS);
}

describe('after /pre-stop the process stays up until the signal', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (tsc -p tsconfig.build.json) first`);
  });

  let sim: Simulator;
  beforeAll(async () => {
    sim = startSimulator({ ttftMs: 5, itlMs: 1 });
    await sim.ready;
  });
  afterAll(() => sim.close());

  const KEY = 'sk-pre-stop';
  /** The gateway serving from its built-in simulator (no VLLM_URL), or in front of the test's simulator. */
  const modes = {
    'built-in simulator': { env: () => ({}), key: undefined },
    'VLLM_URL and API_KEYS': { env: () => ({ VLLM_URL: sim.url, API_KEYS: `ops:${KEY}` }), key: KEY },
  } as const;

  // Several runs: the early exit raced the platform's SIGTERM about one run in three. With a VLLM_URL
  // nothing else holds the event loop, so that is where the process used to exit by itself.
  it.each([
    [1, 'VLLM_URL and API_KEYS'],
    [2, 'built-in simulator'],
    [3, 'VLLM_URL and API_KEYS'],
    [4, 'built-in simulator'],
  ] as const)('run %i (%s): drain, stay up idle, exit 0 on SIGTERM', async (_run, mode) => {
    const p = await launch(modes[mode].env());
    await cycle(p, 'SIGTERM', modes[mode].key);
  }, 20_000);

  it('VLLM_URL and API_KEYS: drain, stay up idle, exit 0 on SIGINT', async () => {
    const before = sim.requests.length;
    const p = await launch(modes['VLLM_URL and API_KEYS'].env());
    await cycle(p, 'SIGINT', KEY);
    // Only the stream reached vLLM: the refused request did not.
    expect(sim.requests.length).toBe(before + 1);
  }, 20_000);

  it('a /pre-stop with nothing in flight: stays up idle, then exits 0 on SIGTERM', async () => {
    const p = await launch(modes['VLLM_URL and API_KEYS'].env());
    expect((await get(`${p.url}/pre-stop`)).status).toBe(200);
    await sleep(IDLE_MS);
    expectAlive(p, `${IDLE_MS} ms after an idle /pre-stop`);
    await expectRefusing(p, KEY);
    await expectPromptExit(p, 'SIGTERM');
  }, 20_000);
});
