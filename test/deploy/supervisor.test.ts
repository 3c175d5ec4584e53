/**
 * deploy/supervisor.sh with scripted children (no Docker): the order of a graceful stop, exit codes when a
 * child dies, the SIGKILL fallback, SIGHUP forwarding, and what each child sees in its environment.
 * test/containers runs the same script as PID 1 of the real images.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './s-yaml.js';

const dir = mkdtempSync(join(tmpdir(), 'supervisor-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The fake gateway: logs its start (with what it sees of the engine key), SIGHUP and SIGTERM; on SIGTERM
// it "drains" for 200 ms unless FAKE_IGNORE_TERM is set. FAKE_DIE_MS makes it exit on its own.
const fakeGateway = join(dir, 'gateway.mjs');
writeFileSync(
  fakeGateway,
  `import { appendFileSync } from 'node:fs';
const log = (line) => appendFileSync(process.env.EVENTS, line + '\\n');
log('gateway:start key=' + (process.env.VLLM_API_KEY ?? ''));
process.on('SIGHUP', () => log('gateway:hup'));
process.on('SIGTERM', () => {
  log('gateway:term');
  if (process.env.FAKE_IGNORE_TERM) return;
  setTimeout(() => { log('gateway:exit'); process.exit(0); }, 200);
});
if (process.env.FAKE_GATEWAY_DIE_MS) setTimeout(() => process.exit(Number(process.env.FAKE_GATEWAY_DIE_CODE ?? 0)), Number(process.env.FAKE_GATEWAY_DIE_MS));
setInterval(() => {}, 1000);
log('gateway:ready');
`,
);

// The fake engine: logs its start and what it sees, exits 0 on SIGTERM; FAKE_ENGINE_DIE makes it exit 3.
const fakeEngine = join(dir, 'engine.sh');
writeFileSync(
  fakeEngine,
  `#!/usr/bin/env bash
echo "engine:start key=\${VLLM_API_KEY:-} api_keys=\${API_KEYS-unset} vllm_url=\${VLLM_URL-unset}" >>"$EVENTS"
trap 'echo engine:term >>"$EVENTS"; exit 0' TERM
if [ -n "\${FAKE_ENGINE_DIE:-}" ]; then sleep 0.3; exit 3; fi
while :; do sleep 0.05; done
`,
);
chmodSync(fakeEngine, 0o755);

interface Supervised {
  signal(sig: NodeJS.Signals): void;
  exited: Promise<number>;
  events(): string[];
  waitFor(event: string, ms?: number): Promise<void>;
}

let runs = 0;
function supervise(processes: string[], env: Record<string, string> = {}): Supervised {
  const events = join(dir, `events-${++runs}.log`);
  writeFileSync(events, '');
  const child = spawn('bash', [join(REPO_ROOT, 'deploy/supervisor.sh'), ...processes], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', EVENTS: events, GATEWAY_MAIN: fakeGateway, ENGINE_LAUNCH: fakeEngine, API_KEYS: 'client-key', VLLM_URL: 'http://127.0.0.1:8000', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.resume();
  const read = () => readFileSync(events, 'utf8').split('\n').filter(Boolean);
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : -2))));
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  void exited.then(() => clearTimeout(killer));
  return {
    signal: (sig) => child.kill(sig),
    exited,
    events: read,
    waitFor: async (event, ms = 5_000) => {
      const deadline = Date.now() + ms;
      while (!read().some((e) => e.startsWith(event))) {
        if (Date.now() > deadline) throw new Error(`no "${event}" within ${ms} ms; events: ${read().join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

describe('deploy/supervisor.sh', () => {
  it('on SIGTERM stops the gateway first, lets it drain, then stops vllm, and exits 0', async () => {
    const s = supervise(['gateway', 'vllm']);
    await s.waitFor('gateway:ready');
    await s.waitFor('engine:start');
    s.signal('SIGTERM');
    expect(await s.exited).toBe(0);
    const order = s.events().filter((e) => /:(term|exit)$/.test(e));
    expect(order).toEqual(['gateway:term', 'gateway:exit', 'engine:term']);
  });

  it('exits with the engine status when vllm dies, after stopping the gateway', async () => {
    const s = supervise(['gateway', 'vllm'], { FAKE_ENGINE_DIE: '1' });
    expect(await s.exited).toBe(3);
    expect(s.events()).toContain('gateway:term');
  });

  it('exits non-zero when the gateway exits on its own, even with status 0', async () => {
    const s = supervise(['gateway', 'vllm'], { FAKE_GATEWAY_DIE_MS: '300', FAKE_GATEWAY_DIE_CODE: '0' });
    expect(await s.exited).toBe(1);
    expect(s.events()).toContain('engine:term');
  });

  it('passes the gateway status through when it runs alone', async () => {
    const s = supervise(['gateway'], { FAKE_GATEWAY_DIE_MS: '100', FAKE_GATEWAY_DIE_CODE: '7' });
    expect(await s.exited).toBe(7);
  });

  it('kills a child that ignores SIGTERM after its stop timeout', async () => {
    const s = supervise(['gateway', 'vllm'], { FAKE_IGNORE_TERM: '1', GATEWAY_STOP_TIMEOUT_S: '1' });
    await s.waitFor('gateway:ready');
    await s.waitFor('engine:start');
    const started = Date.now();
    s.signal('SIGTERM');
    expect(await s.exited).toBe(137);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(s.events()).toContain('engine:term');
  });

  it('passes SIGHUP to the gateway and keeps running', async () => {
    const s = supervise(['gateway']);
    await s.waitFor('gateway:ready');
    s.signal('SIGHUP');
    await s.waitFor('gateway:hup');
    s.signal('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('shares a generated engine key and keeps client keys and VLLM_URL from the engine', async () => {
    const s = supervise(['gateway', 'vllm']);
    await s.waitFor('gateway:start');
    await s.waitFor('engine:start');
    const gatewayKey = /key=(\S*)/.exec(s.events().find((e) => e.startsWith('gateway:start')) ?? '')?.[1];
    const engine = s.events().find((e) => e.startsWith('engine:start')) ?? '';
    expect(gatewayKey).toMatch(/^[0-9a-f]{48}$/);
    expect(engine).toContain(`key=${gatewayKey} `);
    expect(engine).toContain('api_keys=unset');
    expect(engine).toContain('vllm_url=unset');
    s.signal('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('refuses an unknown process name', async () => {
    expect(await supervise(['gateway', 'redis']).exited).toBe(64);
  });
});
