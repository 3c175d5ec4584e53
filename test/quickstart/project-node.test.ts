/**
 * `npm test` runs the suite on the project's Node, whatever `node` the shell has: npm puts
 * node_modules/.bin first on PATH for scripts, and `npm ci` put the `node` devDependency there.
 */
import { describe, expect, it } from 'vitest';
import { PROJECT_NODE_MAJOR } from './old-node.js';

describe('the test runner', () => {
  it(`runs on Node ${PROJECT_NODE_MAJOR} or newer`, () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(PROJECT_NODE_MAJOR);
  });
});
