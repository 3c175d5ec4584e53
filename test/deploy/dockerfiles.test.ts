/**
 * Static checks of Dockerfile.gateway, Dockerfile.vllm and .dockerignore: pinned base images behind
 * build ARGs, multi-stage with a production-only runtime, non-root users, the port and health path the
 * gateway code serves. test/containers checks the same images by running them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, PATHS } from '../../gateway/routes/paths.js';
import { REPO_ROOT } from './s-yaml.js';

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
function parseDockerfile(name: string): Instruction[] {
  const lines = readFileSync(join(REPO_ROOT, name), 'utf8').split('\n');
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const space = pending.indexOf(' ');
    out.push({ op: pending.slice(0, space).toUpperCase(), args: pending.slice(space + 1).trim() });
    pending = '';
  }
  return out;
}

/** Instructions grouped by FROM; index 0 holds the global ARGs before the first FROM. */
function stages(instructions: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [[]];
  for (const i of instructions) {
    if (i.op === 'FROM') out.push([]);
    (out[out.length - 1] as Instruction[]).push(i);
  }
  return out;
}

function argDefault(instructions: Instruction[], name: string): string | undefined {
  const arg = instructions.find((i) => i.op === 'ARG' && i.args.startsWith(`${name}=`));
  return arg?.args.slice(name.length + 1).replace(/^"|"$/g, '');
}

function last(stage: Instruction[], op: string): string | undefined {
  return stage.filter((i) => i.op === op).at(-1)?.args;
}

describe('Dockerfile.gateway', () => {
  const all = parseDockerfile('Dockerfile.gateway');
  const [globals = [], build = [], runtime = []] = stages(all);

  it('takes its base as a build ARG, defaulting to the official node:24-bookworm-slim', () => {
    expect(argDefault(globals, 'NODE_IMAGE')).toBe('node:24-bookworm-slim');
    expect(build[0]?.args).toBe('${NODE_IMAGE} AS build');
    expect(runtime[0]?.args).toBe('${NODE_IMAGE} AS runtime');
  });

  it('builds in one stage and ships production dependencies and compiled code only', () => {
    const buildRuns = build.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(buildRuns).toMatch(/npm ci/);
    expect(buildRuns).toMatch(/npm run build/);
    expect(buildRuns).toMatch(/npm prune --omit=dev/);
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    for (const copy of copies) {
      // Only package.json, pruned node_modules, compiled JS from the build stage, and the supervisor.
      expect(copy).toMatch(/^--from=build \/src\/(package\.json|node_modules|dist\/gateway) |^deploy\/supervisor\.sh /);
    }
    expect(runtime.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args))).toBe(false);
  });

  it('runs as a non-root user, on port 9000, with a HEALTHCHECK on /livez and the supervisor as PID 1', () => {
    const user = last(runtime, 'USER') ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(last(runtime, 'EXPOSE')).toBe(String(DEFAULT_PORT));
    expect(last(runtime, 'HEALTHCHECK')).toContain(`'${PATHS.livez}'`);
    expect(last(runtime, 'ENTRYPOINT')).toBe('["/app/bin/supervisor.sh"]');
    expect(last(runtime, 'CMD')).toBe('["gateway"]');
    expect(runtime.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ')).toMatch(/NODE_ENV=production/);
    // SQLite state lives in a directory the unprivileged user owns (the app files stay root's).
    expect(last(runtime, 'ENV')).toBe('DATA_DIR=/data');
    expect(runtime.find((i) => i.op === 'RUN' && /chown gateway:gateway \/data/.test(i.args))).toBeDefined();
  });
});

describe('Dockerfile.vllm', () => {
  const all = parseDockerfile('Dockerfile.vllm');
  const [globals = [], , final = []] = stages(all);

  it('builds on a pinned vllm/vllm-openai -cu129 tag and on the gateway image, both as ARGs', () => {
    expect(argDefault(globals, 'VLLM_IMAGE')).toMatch(/^vllm\/vllm-openai:v\d+\.\d+\.\d+-cu129$/);
    expect(argDefault(globals, 'GATEWAY_IMAGE')).toBeDefined();
    expect(all.filter((i) => i.op === 'FROM').map((i) => i.args)).toEqual(['${GATEWAY_IMAGE} AS gateway', '${VLLM_IMAGE}']);
  });

  it('bakes the weights at a pinned revision and runs offline, or reads them from MODEL_PATH', () => {
    expect(argDefault(final, 'MODEL_ID')).toBe('Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4');
    expect(argDefault(final, 'MODEL_REVISION')).toMatch(/^[0-9a-f]{40}$/);
    expect(argDefault(final, 'BAKE_WEIGHTS')).toBe('1');
    const env = final.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/HF_HUB_OFFLINE=1/);
    expect(env).toMatch(/MODEL_PATH=\$\{MODEL_DIR\}/);
    expect(final.some((i) => i.op === 'RUN' && i.args.includes('--revision "$MODEL_REVISION"'))).toBe(true);
  });

  it('brings the gateway and its Node runtime from the gateway image, and the launch script', () => {
    const copies = final.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=gateway /usr/local/bin/node /usr/local/bin/node');
    expect(copies).toContain('--from=gateway /app /app');
    expect(copies).toContain('vllm/launch.sh /app/vllm/launch.sh');
  });

  it('wires the gateway to vLLM on loopback, runs non-root, and starts both under the supervisor', () => {
    const env = final.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    const url = /VLLM_URL=(\S+)/.exec(env)?.[1] ?? '';
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect(env).toContain(`ENGINE_PORT=${new URL(url).port}`);
    expect(env).toContain('ENGINE_HOST=127.0.0.1');
    expect(last(final, 'USER')).toBe('2000:0');
    expect(last(final, 'EXPOSE')).toBe(String(DEFAULT_PORT));
    expect(last(final, 'HEALTHCHECK')).toContain(`'${PATHS.livez}'`);
    expect(last(final, 'ENTRYPOINT')).toBe('["/app/bin/supervisor.sh"]');
    expect(last(final, 'CMD')).toBe('["gateway", "vllm"]');
  });
});

describe('images stay reproducible', () => {
  it('pins every base image default and never uses latest', () => {
    for (const name of ['Dockerfile.gateway', 'Dockerfile.vllm', 'deploy/test/Dockerfile.vllm-sim']) {
      const text = readFileSync(join(REPO_ROOT, name), 'utf8');
      expect(text, name).not.toMatch(/:latest\b/);
      expect(text, name).not.toMatch(/^# syntax=/m);
    }
  });

  it('.dockerignore sends only sources: no node_modules, dist, tests, secrets or git history', () => {
    const rules = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(rules[0]).toBe('*');
    const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1));
    for (const path of allowed) expect(path).not.toMatch(/node_modules|^dist|^test\/|\.env|\.git/);
    expect(allowed).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'gateway/', 'deploy/supervisor.sh']));
  });
});
