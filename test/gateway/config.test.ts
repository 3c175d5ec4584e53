import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../gateway/config.js';

describe('parseConfig', () => {
  it('applies defaults: port 9000, host 0.0.0.0, timeouts just under FC limits', () => {
    const c = parseConfig({});
    expect(c.port).toBe(9000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.vllmUrl).toBeUndefined();
    expect(c.timeouts.requestMs).toBe(350_000);
    expect(c.admission.maxConcurrent).toBe(32);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('falls back to FC_SERVER_PORT when PORT is unset', () => {
    expect(parseConfig({ FC_SERVER_PORT: '9100' }).port).toBe(9100);
    expect(parseConfig({ FC_SERVER_PORT: '9100', PORT: '9200' }).port).toBe(9200);
  });

  it('names the variable in the error for a bad value', () => {
    expect(() => parseConfig({ PORT: 'abc' })).toThrow(/PORT: must be a number/);
    expect(() => parseConfig({ IDLE_TIMEOUT_MS: '-5' })).toThrow(/IDLE_TIMEOUT_MS: must be at least 1/);
    expect(() => parseConfig({ VLLM_URL: 'not a url', ALLOW_ANONYMOUS: 'true' })).toThrow(/VLLM_URL/);
    expect(() => parseConfig({ ALLOW_ANONYMOUS: 'maybe' })).toThrow(/ALLOW_ANONYMOUS: must be true or false/);
    expect(() => parseConfig({ LOG_LEVEL: 'loud' })).toThrow(ConfigError);
  });

  it('parses MODEL_ALIASES and rejects malformed entries', () => {
    const c = parseConfig({ MODEL_ALIASES: 'gpt-4o-mini=qwen2.5-7b-instruct, gpt-4o = qwen2.5-7b-instruct' });
    expect([...c.modelAliases]).toEqual([
      ['gpt-4o-mini', 'qwen2.5-7b-instruct'],
      ['gpt-4o', 'qwen2.5-7b-instruct'],
    ]);
    expect(() => parseConfig({ MODEL_ALIASES: 'gpt-4o-mini' })).toThrow(/MODEL_ALIASES: entry "gpt-4o-mini"/);
  });

  it('refuses production without VLLM_URL (it would serve simulated answers)', () => {
    expect(() => parseConfig({ NODE_ENV: 'production' })).toThrow(/VLLM_URL: is required when NODE_ENV=production/);
  });

  it('refuses a real VLLM_URL without keys unless ALLOW_ANONYMOUS=true', () => {
    expect(() => parseConfig({ VLLM_URL: 'http://127.0.0.1:8000' })).toThrow(/API_KEYS/);
    expect(parseConfig({ VLLM_URL: 'http://127.0.0.1:8000/', ALLOW_ANONYMOUS: 'true' }).vllmUrl).toBe('http://127.0.0.1:8000');
    expect(parseConfig({ VLLM_URL: 'http://127.0.0.1:8000', API_KEYS: 'k1' }).apiKeys).toBe('k1');
  });

  it('splits CORS_ORIGINS', () => {
    expect(parseConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });
});
