/**
 * One Node everywhere: the `node` devDependency that `npm ci` installs for npm scripts, the Node of the
 * images' base (scripts/build-base-images.sh, Dockerfile.gateway's default), and the major that
 * package.json "engines" and the entry point's check demand.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROJECT_NODE_MAJOR } from './old-node.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };

describe('the project Node', () => {
  it('is pinned as a devDependency of the major that "engines" names', () => {
    expect(pkg.engines.node).toBe(`>=${PROJECT_NODE_MAJOR}`);
    expect(pkg.devDependencies.node).toMatch(new RegExp(`^${PROJECT_NODE_MAJOR}\\.\\d+\\.\\d+$`));
  });

  it('is the Node of the images', () => {
    expect(readFileSync('scripts/build-base-images.sh', 'utf8')).toContain(`NODE_VERSION=\${NODE_VERSION:-${pkg.devDependencies.node}}`);
    expect(readFileSync('Dockerfile.gateway', 'utf8')).toContain(`ARG NODE_IMAGE=node:${PROJECT_NODE_MAJOR}-bookworm-slim`);
  });
});
