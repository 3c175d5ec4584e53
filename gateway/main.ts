/**
 * @module main
 * The entry point (`npm start`, `node dist/gateway/main.js`): checks the Node version, then loads the
 * process (process-main.ts). ESM evaluates every static import before the importing module's body, so a
 * check placed after `import ... from './server.js'` would come too late: on Node 20, undici 8 dies
 * while loading (zlib has no createZstdDecompress before Node 22.15) with a stack trace that names
 * neither Node nor the fix. Hence no static imports here, and only syntax that old Nodes parse (no
 * top-level await, no `??` or `?.`), so the one-line message is what an old Node prints.
 */

// package.json "engines" says the same (test/gateway/main.test.ts and test/quickstart/node-pins.test.ts
// keep them equal).
const NODE_MAJOR_NEEDED = 24;

const found = process.versions.node;
if (Number(found.split('.')[0]) < NODE_MAJOR_NEEDED) {
  process.stderr.write(
    `vllm-gateway: Node v${found} is too old; it needs Node >= ${NODE_MAJOR_NEEDED}. ` +
      `Run "npm ci" (it installs the project's Node ${NODE_MAJOR_NEEDED}) and start with "npm start" ` +
      `(or node_modules/.bin/node dist/gateway/main.js).\n`,
  );
  process.exitCode = 1;
} else {
  void import('./process-main.js');
}

// An ES module in every compiler mode, not a script.
export {};
