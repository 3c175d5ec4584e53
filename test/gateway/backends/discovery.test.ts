import { afterEach, describe, expect, it } from 'vitest';
import { parseBackendsFile } from '../../../gateway/backends/backends-file.js';
import type { BackendSpec } from '../../../gateway/backends/backend.js';
import { Discovery, systemResolver, type Resolver } from '../../../gateway/backends/discovery.js';
import { BackendSet } from '../../../gateway/backends/set.js';
import { parseConfig, type Env } from '../../../gateway/config.js';

const configOf = (env: Env) => parseConfig({ ALLOW_ANONYMOUS: 'true', ...env });

const sets: BackendSet[] = [];
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.stop()));
});

function discover(env: Env, extra: { files?: Record<string, string>; resolve?: Resolver } = {}) {
  const emitted: BackendSpec[][] = [];
  const warnings: string[] = [];
  const log = (o: object, msg: string) => warnings.push(`${msg} ${JSON.stringify(o)}`);
  const d = new Discovery({
    config: configOf(env),
    onSpecs: (s) => emitted.push(s),
    logger: { info: log, warn: log, error: log } as never,
    resolve: extra.resolve,
    readFile: async (p) => {
      const text = extra.files?.[p];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file ${p}`), { code: 'ENOENT' });
      return text;
    },
  });
  return { d, emitted, warnings };
}

describe('static discovery', () => {
  it('VLLM_URL entries in order, then the backends file in file order', async () => {
    const file = JSON.stringify({ backends: [{ url: 'http://10.0.0.5:8000', name: 'gpu-a', weight: 2, maxConcurrent: 16, apiKey: 'k-a' }, { url: 'http://10.0.0.6:8000/' }] });
    const { d, emitted } = discover({ VLLM_URL: 'http://127.0.0.1:8001,http://127.0.0.1:8002', VLLM_BACKENDS_FILE: '/etc/b.json' }, { files: { '/etc/b.json': file } });
    await d.start();
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toEqual([
      { url: 'http://127.0.0.1:8001' },
      { url: 'http://127.0.0.1:8002' },
      { url: 'http://10.0.0.5:8000', name: 'gpu-a', weight: 2, maxConcurrent: 16, apiKey: 'k-a' },
      { url: 'http://10.0.0.6:8000' },
    ]);
    d.stop();
  });

  it('refuses to start on a bad file; reload() keeps the old list and reports the error', async () => {
    const files: Record<string, string> = { '/b.json': '{"backends":[{"url":"http://10.0.0.5:8000"}]}' };
    const { d, emitted, warnings } = discover({ VLLM_BACKENDS_FILE: '/b.json' }, { files });
    await d.start();
    files['/b.json'] = '{"backends":[{"url":"http://10.0.0.5:8000","wieght":2}]}';
    const bad = await d.reload();
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/backends\[0\].*wieght/);
    expect(d.specs).toEqual([{ url: 'http://10.0.0.5:8000' }]);
    expect(warnings.join('\n')).toMatch(/not reloaded/);
    files['/b.json'] = '{"backends":[{"url":"http://10.0.0.7:8000"}]}';
    expect(await d.reload()).toEqual({ ok: true, backends: 1 });
    expect(emitted.at(-1)).toEqual([{ url: 'http://10.0.0.7:8000' }]);

    const broken = discover({ VLLM_BACKENDS_FILE: '/missing.json' });
    await expect(broken.d.start()).rejects.toThrow(/ENOENT/);
  });
});

describe('backends file: clear errors naming the entry', () => {
  it('not JSON', () => {
    expect(() => parseBackendsFile('{backends', '/b.json')).toThrow(/VLLM_BACKENDS_FILE \/b\.json: not valid JSON/);
  });

  it('wrong shape', () => {
    expect(() => parseBackendsFile('{"backend":[]}', '/b.json')).toThrow(/backends: must be a list/);
  });

  it('names each bad entry by index and name, and the field', () => {
    const text = JSON.stringify({
      backends: [
        { url: 'http://10.0.0.5:8000', name: 'gpu-a', weight: 0 },
        { url: 'ftp://10.0.0.6', name: 'gpu-b' },
        { url: 'http://10.0.0.7:8000', maxConcurrent: 1.5 },
        { name: 'no-url' },
      ],
    });
    let message = '';
    try {
      parseBackendsFile(text, '/b.json');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/backends\[0\] \("gpu-a"\): weight: must be greater than 0/);
    expect(message).toMatch(/backends\[1\] \("gpu-b"\): url: .*must start with http/);
    expect(message).toMatch(/backends\[2\] \(http:\/\/10\.0\.0\.7:8000\): maxConcurrent: must be a whole number/);
    expect(message).toMatch(/backends\[3\] \("no-url"\): url: is required/);
  });

  it('never repeats userinfo or keys in an error', () => {
    const text = JSON.stringify({ backends: [{ url: 'http://admin:s3cret@10.0.0.5:8000', apiKey: 'sk-very-secret', weight: -1 }] });
    expect(() => parseBackendsFile(text, '/b.json')).toThrow(/weight/);
    try {
      parseBackendsFile(text, '/b.json');
    } catch (err) {
      expect((err as Error).message).not.toMatch(/s3cret|sk-very-secret|admin/);
    }
  });
});

describe('DNS discovery', () => {
  it('turns every address of a hostname into a backend; IP literals skip DNS; IPv6 in brackets; https keeps the name for TLS', async () => {
    const asked: string[] = [];
    const resolve: Resolver = async (host) => {
      asked.push(host);
      if (host === 'vllm.svc') return ['10.0.0.2', '10.0.0.1', '10.0.0.1'];
      if (host === 'v6.svc') return ['fd00::1'];
      if (host === 'secure.example') return ['192.0.2.10'];
      throw new Error('ENOTFOUND');
    };
    const { d, emitted } = discover({ VLLM_URL: 'http://vllm.svc:8000,http://192.0.2.1:8000,http://v6.svc:9000,https://secure.example', VLLM_DISCOVERY: 'dns' }, { resolve });
    await d.start();
    d.stop();
    expect(asked.sort()).toEqual(['secure.example', 'v6.svc', 'vllm.svc']);
    expect(emitted[0]).toEqual([
      { url: 'http://10.0.0.1:8000', name: 'vllm.svc/10.0.0.1:8000' },
      { url: 'http://10.0.0.2:8000', name: 'vllm.svc/10.0.0.2:8000' },
      { url: 'http://192.0.2.1:8000' },
      { url: 'http://[fd00::1]:9000', name: 'v6.svc/[fd00::1]:9000' },
      { url: 'https://192.0.2.10', name: 'secure.example/192.0.2.10:443', servername: 'secure.example', hostHeader: 'secure.example' },
    ]);
  });

  it('re-resolves: new addresses are added, vanished ones drain (their in-flight requests finish), a failed lookup keeps the last addresses', async () => {
    let answer: string[] | Error = ['10.0.0.1', '10.0.0.2'];
    const resolve: Resolver = async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    };
    const config = configOf({ VLLM_URL: 'http://vllm.svc:8000', VLLM_DISCOVERY: 'dns' });
    const set = new BackendSet({ config });
    sets.push(set);
    const warnings: string[] = [];
    // Wire the discovery's specs into a set, as the gateway does.
    const emitted: BackendSpec[][] = [];
    const wired = new Discovery({
      config,
      onSpecs: (s) => {
        emitted.push(s);
        set.update(s);
      },
      resolve,
      logger: { info: () => undefined, error: () => undefined, warn: (o: object, msg: string) => warnings.push(`${msg} ${JSON.stringify(o)}`) } as never,
    });
    await wired.start();
    wired.stop();
    expect(set.all().map((b) => b.id)).toEqual(['http://10.0.0.1:8000', 'http://10.0.0.2:8000']);
    const [first, second] = set.all();
    first!.take();

    answer = ['10.0.0.2', '10.0.0.3'];
    await wired.refresh();
    expect(set.all().map((b) => `${b.id} ${b.state}`)).toEqual(['http://10.0.0.2:8000 starting', 'http://10.0.0.3:8000 starting', 'http://10.0.0.1:8000 draining']);
    expect(set.all()[0]).toBe(second);
    expect(first!.pool.closed).toBe(false);
    first!.put();
    await first!.stop();
    expect(first!.pool.closed).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(set.all().map((b) => b.id)).toEqual(['http://10.0.0.2:8000', 'http://10.0.0.3:8000']);

    answer = new Error('SERVFAIL');
    const before = emitted.length;
    await wired.refresh();
    expect(emitted.length).toBe(before);
    expect(set.all().map((b) => b.id)).toEqual(['http://10.0.0.2:8000', 'http://10.0.0.3:8000']);
    expect(warnings.join('\n')).toMatch(/keeping the last known addresses.*SERVFAIL.*"kept":2/);
  });

  it('logs a failed lookup', async () => {
    const { d, emitted, warnings } = discover({ VLLM_URL: 'http://nowhere.invalid:8000', VLLM_DISCOVERY: 'dns' }, { resolve: async () => Promise.reject(new Error('ENOTFOUND nowhere.invalid')) });
    await d.start();
    d.stop();
    expect(emitted).toEqual([[]]);
    expect(warnings.join('\n')).toMatch(/DNS lookup failed.*ENOTFOUND/);
  });

  it('the system resolver (dns.lookup) reads /etc/hosts names such as localhost', async () => {
    const addresses = await systemResolver('localhost');
    expect(addresses.some((a) => a === '127.0.0.1' || a === '::1')).toBe(true);
    const { d, emitted } = discover({ VLLM_URL: 'http://localhost:8000', VLLM_DISCOVERY: 'dns' }, { resolve: systemResolver });
    await d.start();
    d.stop();
    const urls = emitted[0]!.map((s) => s.url);
    expect(urls.some((u) => u === 'http://127.0.0.1:8000' || u === 'http://[::1]:8000')).toBe(true);
    expect(emitted[0]![0]!.name).toMatch(/^localhost\//);
  });
});
