import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { KeyRegistry, loadKeys, parseKeyEntries, presentedKey } from '../../../gateway/auth/keys.js';

// Counts comparisons, to show that a lookup compares against every entry.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const hex8 = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 8);
const digest = (key: string) => createHash('sha256').update(key).digest();

/** Runs `f`, expects it to throw, and returns the message. */
function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('parseKeyEntries: API_KEYS', () => {
  it('reads bare and named keys, comma-separated, trimming spaces and skipping empty entries', () => {
    const entries = parseKeyEntries(' alice:sk-alice-1 , sk-bare-2,,', 'API_KEYS');
    expect(entries.map((e) => e.name)).toEqual(['alice', `key-${hex8('sk-bare-2')}`]);
    expect(entries[0]!.digest.equals(digest('sk-alice-1'))).toBe(true);
    expect(entries[1]!.digest.equals(digest('sk-bare-2'))).toBe(true);
  });

  it('takes the name from before the first colon only', () => {
    const [e] = parseKeyEntries('svc:abc:def', 'API_KEYS');
    expect(e!.name).toBe('svc');
    expect(e!.digest.equals(digest('abc:def'))).toBe(true);
  });

  it('accepts per-key overrides in the env form too', () => {
    const [e] = parseKeyEntries('bob:sk-bob rpm=5 tpm=1000', 'API_KEYS');
    expect(e).toMatchObject({ name: 'bob', rpm: 5, tpm: 1000 });
  });

  it('an empty or blank string is no keys', () => {
    expect(parseKeyEntries('', 'API_KEYS')).toEqual([]);
    expect(parseKeyEntries('  ,  ', 'API_KEYS')).toEqual([]);
  });

  it('names the entry number in errors', () => {
    expect(errorOf(() => parseKeyEntries('ok-key,bad name:x', 'API_KEYS'))).toMatch(/^API_KEYS entry 2: /);
  });
});

describe('parseKeyEntries: API_KEYS_FILE', () => {
  const file = [
    '# team keys',
    '',
    'alice:sk-alice-file rpm=10 tpm=5000',
    '   sk-unnamed-file   # the batch job',
    'carol:sk-carol tpm=0',
    '\t',
  ].join('\r\n');

  it('reads names, bare keys and overrides, ignoring blank lines and comments (CRLF too)', () => {
    const entries = parseKeyEntries(file, 'API_KEYS_FILE');
    expect(entries.map(({ name, rpm, tpm, origin }) => ({ name, rpm, tpm, origin }))).toEqual([
      { name: 'alice', rpm: 10, tpm: 5000, origin: 'API_KEYS_FILE line 3' },
      { name: `key-${hex8('sk-unnamed-file')}`, rpm: undefined, tpm: undefined, origin: 'API_KEYS_FILE line 4' },
      { name: 'carol', rpm: undefined, tpm: 0, origin: 'API_KEYS_FILE line 5' },
    ]);
    expect(entries[1]!.digest.equals(digest('sk-unnamed-file'))).toBe(true);
  });

  it('ignores a byte-order mark', () => {
    expect(parseKeyEntries('\uFEFFdan:sk-dan\n', 'API_KEYS_FILE')[0]!.name).toBe('dan');
  });

  it('never quotes key text in errors, and names the line', () => {
    const secret = 'sk-SECRET-do-not-print';
    const cases: Array<[string, RegExp]> = [
      [`# ok\n\nname:${secret} rpm=abc`, /line 3: rpm must be a whole number/],
      [`name:${secret} rpm=1 rpm=2`, /line 1: rpm is given twice/],
      [`name:${secret} burst=4`, /line 1: unknown text after the key/],
      [`name:${secret} ${secret}-2`, /line 1: unknown text after the key/],
      [`bad/name:${secret}`, /line 1: the name must be/],
      [`${secret}:`, /line 1: the key is empty/],
      [`:${secret}`, /line 1: the name must be/],
      [`name:${secret}\u00e9`, /line 1: the key must be visible ASCII/],
      [`a:${secret}\nb:${secret}`, /line 2: duplicate key \(the same key as API_KEYS_FILE line 1\)/],
      [`a:${secret}\na:${secret}-other`, /line 2: duplicate key name \(the same name as API_KEYS_FILE line 1\)/],
      [`n:${secret} tpm=-1`, /line 1: tpm must be a whole number/],
    ];
    for (const [text, expected] of cases) {
      const message = errorOf(() => parseKeyEntries(text, 'API_KEYS_FILE'));
      expect(message).toMatch(/^API_KEYS_FILE line \d+: /);
      expect(message).toMatch(expected);
      expect(message).not.toContain('SECRET');
    }
  });

  it('detects an unnamed key duplicated by a named one', () => {
    expect(errorOf(() => parseKeyEntries('sk-same\nnamed:sk-same', 'API_KEYS_FILE'))).toMatch(/line 2: duplicate key \(/);
  });
});

describe('loadKeys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-keys-unit-'));

  it('merges API_KEYS and API_KEYS_FILE', async () => {
    const path = join(dir, 'merge.txt');
    writeFileSync(path, 'carol:sk-carol rpm=3\n');
    const entries = await loadKeys({ API_KEYS: 'alice:sk-alice', API_KEYS_FILE: path });
    expect(entries.map((e) => [e.name, e.rpm])).toEqual([['alice', undefined], ['carol', 3]]);
  });

  it('rejects a duplicate across the two sources, naming both places and not the key', async () => {
    const path = join(dir, 'dup.txt');
    writeFileSync(path, '# x\nother:sk-SECRET-shared\n');
    await expect(loadKeys({ API_KEYS: 'a:sk-SECRET-shared', API_KEYS_FILE: path })).rejects.toThrow(
      /^API_KEYS_FILE line 2: duplicate key \(the same key as API_KEYS entry 1\)$/,
    );
  });

  it('nothing configured is no keys', async () => {
    expect(await loadKeys({})).toEqual([]);
    expect(await loadKeys({ API_KEYS: '' })).toEqual([]);
  });

  it('says which file it could not read', async () => {
    await expect(loadKeys({ API_KEYS_FILE: join(dir, 'missing.txt') })).rejects.toThrow(/^API_KEYS_FILE: cannot read .*missing\.txt \(ENOENT\)$/);
  });
});

describe('KeyRegistry', () => {
  const registry = new KeyRegistry(parseKeyEntries('alice:sk-alice-123456 rpm=7,bob:sk-bob-654321,sk-anon-000', 'API_KEYS'));

  it('finds the right key, with its overrides and no key material', () => {
    expect(registry.size).toBe(3);
    expect(registry.lookup('sk-alice-123456')).toEqual({ name: 'alice', rpm: 7 });
    expect(registry.lookup('sk-bob-654321')).toEqual({ name: 'bob' });
    expect(registry.lookup('sk-anon-000')).toEqual({ name: `key-${hex8('sk-anon-000')}` });
    expect(Object.isFrozen(registry.lookup('sk-bob-654321'))).toBe(true);
  });

  it('returns undefined for near misses', () => {
    for (const miss of ['sk-alice-123457', 'sk-alice-12345', 'sk-alice-1234567', 'SK-ALICE-123456', ' sk-alice-123456', '', 'alice']) {
      expect(registry.lookup(miss)).toBeUndefined();
    }
  });

  it('compares against every entry, with no early exit, whichever matches', () => {
    const fresh = new KeyRegistry(parseKeyEntries('alice:sk-alice-123456,bob:sk-bob-654321,sk-anon-000', 'API_KEYS'));
    const compare = vi.mocked(timingSafeEqual);
    for (const presented of ['sk-alice-123456', 'sk-anon-000', 'nope', 'nope']) {
      compare.mockClear();
      fresh.lookup(presented);
      expect(compare).toHaveBeenCalledTimes(3);
      // Always 32-byte digests, never the presented text itself.
      for (const [a, b] of compare.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    }
  });

  it('remembers only keys that matched, so wrong guesses always take the full comparison', () => {
    const fresh = new KeyRegistry(parseKeyEntries('alice:sk-alice-123456', 'API_KEYS'));
    const compare = vi.mocked(timingSafeEqual);
    expect(fresh.lookup('sk-alice-123456')).toEqual({ name: 'alice' });
    compare.mockClear();
    expect(fresh.lookup('sk-alice-123456')).toEqual({ name: 'alice' });
    expect(compare).not.toHaveBeenCalled();
    for (let i = 0; i < 3; i++) expect(fresh.lookup('sk-alice-12345')).toBeUndefined();
    expect(compare).toHaveBeenCalledTimes(3);
  });

  it('refuses duplicate names or keys handed to it directly', () => {
    const a = parseKeyEntries('a:k1', 'API_KEYS');
    const b = parseKeyEntries('a:k2', 'API_KEYS_FILE');
    expect(() => new KeyRegistry([...a, ...b])).toThrow(/duplicate key name/);
  });
});

describe('presentedKey', () => {
  it('reads a Bearer token in any case of the scheme', () => {
    expect(presentedKey('Bearer sk-1', undefined)).toBe('sk-1');
    expect(presentedKey('bearer sk-1', undefined)).toBe('sk-1');
    expect(presentedKey('BEARER   sk-1 ', undefined)).toBe('sk-1');
  });

  it('reads api-key when there is no Authorization', () => {
    expect(presentedKey(undefined, 'sk-2')).toBe('sk-2');
    expect(presentedKey('', ' sk-2 ')).toBe('sk-2');
  });

  it('Authorization decides when present, even malformed', () => {
    expect(presentedKey('Bearer sk-1', 'sk-2')).toBe('sk-1');
    expect(presentedKey('Basic c2stMQ==', 'sk-2')).toBeUndefined();
  });

  it('malformed headers give undefined', () => {
    for (const bad of ['Bearer', 'Bearer ', 'Bearersk-1', 'sk-1', 'Basic c2stMQ==', 'Bearer sk 1', 'Bearer sk-\u00e9', 'Token sk-1']) {
      expect(presentedKey(bad, undefined)).toBeUndefined();
    }
    expect(presentedKey(undefined, 'two words')).toBeUndefined();
    expect(presentedKey(undefined, '')).toBeUndefined();
    expect(presentedKey(undefined, undefined)).toBeUndefined();
  });
});
