/**
 * @module bench/portkey
 * Portkey's open-source gateway, the closest TypeScript peer, installed at benchmark time into a cache
 * directory outside the project's dependencies (`.cache/bench/portkey`, gitignored).
 *
 * Why the overrides: installed as-is today, @portkey-ai/gateway 1.15.2 resolves @hono/node-server 1.19.x,
 * and then every streaming request fails (`TypeError: immutable`). Portkey's own lockfile pins
 * @hono/node-server 1.13.5 and hono 4.9.7, so we pin the same (issue 5).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PORTKEY_VERSION = '1.15.2';
const OVERRIDES = { '@hono/node-server': '1.13.5', hono: '4.9.7' } as const;

export interface PortkeyInstall {
  /** The server entry (build/start-server.js). */
  entry: string;
  version: string;
}

function installedVersion(dir: string, pkg: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function isComplete(dir: string): boolean {
  return (
    installedVersion(dir, '@portkey-ai/gateway') === PORTKEY_VERSION &&
    Object.entries(OVERRIDES).every(([pkg, version]) => installedVersion(dir, pkg) === version)
  );
}

/** npm beside the running node (the project's Node), else whatever `npm` is on PATH. */
function npmCommand(): string {
  const beside = join(dirname(process.execPath), 'npm');
  return existsSync(beside) ? beside : 'npm';
}

/**
 * Installs Portkey into `dir` unless the right versions are already there. Throws with npm's own
 * message when the install fails (no network, registry down), so the report can say why Portkey is absent.
 */
export function ensurePortkey(dir: string, log: (line: string) => void): PortkeyInstall {
  const entry = join(dir, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
  if (!isComplete(dir) || !existsSync(entry)) {
    log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${dir} (overrides: @hono/node-server ${OVERRIDES['@hono/node-server']}, hono ${OVERRIDES.hono})`);
    mkdirSync(dir, { recursive: true });
    const manifest = {
      name: 'bench-portkey',
      private: true,
      description: 'Installed by scripts/bench for the benchmark only; not a project dependency.',
      dependencies: { '@portkey-ai/gateway': PORTKEY_VERSION },
      overrides: OVERRIDES,
    };
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const result = spawnSync(npmCommand(), ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (result.status !== 0 || !isComplete(dir)) {
      const detail = (result.stderr || result.error?.message || 'unknown error').trim().split('\n').slice(-3).join(' ');
      throw new Error(`npm install of @portkey-ai/gateway@${PORTKEY_VERSION} failed: ${detail}`);
    }
  }
  return { entry, version: PORTKEY_VERSION };
}

/** Headers that make Portkey forward to the simulator as a custom OpenAI host. */
export function portkeyHeaders(simOrigin: string): Record<string, string> {
  return {
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `${simOrigin}/v1`,
    authorization: 'Bearer sk-bench',
  };
}
