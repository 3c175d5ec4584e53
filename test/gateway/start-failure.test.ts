/** A gateway that cannot start (a bad VLLM_BACKENDS_FILE) fails before it listens, leaving nothing open. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';
import { startGateway } from '../../gateway/server.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('start failure', () => {
  it('rejects on a missing backends file and never listens', async () => {
    const port = await freePort();
    const config = parseConfig({ VLLM_BACKENDS_FILE: '/nonexistent/backends.json', PORT: String(port), HOST: '127.0.0.1', ALLOW_ANONYMOUS: 'true', LOG_LEVEL: 'silent' });
    await expect(startGateway(config)).rejects.toThrow(/ENOENT|backends/i);
    await expect(fetch(`http://127.0.0.1:${port}/livez`)).rejects.toThrow();
  });
});
