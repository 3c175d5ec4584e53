/**
 * @module auth/keys
 * Who may call: the API keys from `API_KEYS` and `API_KEYS_FILE`, and the constant-time lookup of the
 * key a client presents.
 *
 * One grammar for both sources: an entry is `key` or `name:key` (the name is everything before the first
 * colon), optionally followed by per-key overrides `rpm=N tpm=N` separated by spaces (0 = unlimited for
 * this key, whatever the global limit). `API_KEYS` separates entries with commas, the file with newlines;
 * in the file, blank lines, lines starting with `#` and a ` #` comment after an entry are ignored.
 *
 * Key material lives only in `KeyEntry.digest` (its sha256). Names are what logs and metrics show; an
 * unnamed key is called `key-<first 8 hex of sha256(key)>`. Parse errors name the source and the entry's
 * position and never quote entry text, since any part of a malformed line may be a key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** The public face of a key: safe to log and to put in metric labels. No key material. */
export interface ApiKey {
  name: string;
  rpm?: number;
  tpm?: number;
}

export interface KeyEntry extends ApiKey {
  /** sha256 of the key. */
  digest: Buffer;
  /** Where the entry came from, e.g. `API_KEYS_FILE line 3`, for error messages. */
  origin: string;
}

export type KeySource = 'API_KEYS' | 'API_KEYS_FILE';

/** Names become log fields and metric labels: keep them short and plain. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Keys travel in HTTP headers: visible ASCII, no spaces. */
const KEY = /^[\x21-\x7e]+$/;
const OVERRIDE = /^(rpm|tpm)=(.*)$/;
const COUNT = /^\d{1,9}$/;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export function parseKeyEntries(text: string, source: KeySource): KeyEntry[] {
  const units = source === 'API_KEYS' ? text.split(',') : text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const entries: KeyEntry[] = [];
  units.forEach((unit, i) => {
    const origin = `${source} ${source === 'API_KEYS' ? 'entry' : 'line'} ${i + 1}`;
    const entry = parseEntry(unit, origin, source === 'API_KEYS_FILE');
    if (entry) entries.push(entry);
  });
  assertUnique(entries);
  return entries;
}

function parseEntry(unit: string, origin: string, commentsAllowed: boolean): KeyEntry | undefined {
  let words = unit.trim().split(/[ \t]+/).filter((w) => w !== '');
  if (commentsAllowed) {
    const comment = words.findIndex((w) => w.startsWith('#'));
    if (comment >= 0) words = words.slice(0, comment);
  }
  const [first, ...options] = words;
  if (first === undefined) return undefined;
  const malformed = (why: string) =>
    new Error(`${origin}: ${why} (expected \`key\` or \`name:key\`, optionally followed by rpm=N tpm=N)`);

  const colon = first.indexOf(':');
  const key = colon < 0 ? first : first.slice(colon + 1);
  if (!KEY.test(key)) throw malformed(key === '' ? 'the key is empty' : 'the key must be visible ASCII without spaces');
  const digest = sha256(key);
  let name = `key-${digest.toString('hex').slice(0, 8)}`;
  if (colon >= 0) {
    name = first.slice(0, colon);
    if (!NAME.test(name)) throw malformed('the name must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }

  const entry: KeyEntry = { name, digest, origin };
  for (const option of options) {
    const m = OVERRIDE.exec(option);
    if (!m) throw malformed('unknown text after the key; only rpm=N and tpm=N may follow it');
    const which = m[1] as 'rpm' | 'tpm';
    const value = m[2] ?? '';
    if (entry[which] !== undefined) throw malformed(`${which} is given twice`);
    if (!COUNT.test(value)) throw malformed(`${which} must be a whole number (0 = unlimited)`);
    entry[which] = Number(value);
  }
  return entry;
}

/** Duplicate names would merge two keys' limits and logs; duplicate keys make a name ambiguous. */
function assertUnique(entries: readonly KeyEntry[]): void {
  const names = new Map<string, string>();
  const digests = new Map<string, string>();
  for (const e of entries) {
    const sameName = names.get(e.name);
    if (sameName) throw new Error(`${e.origin}: duplicate key name (the same name as ${sameName})`);
    const hex = e.digest.toString('hex');
    const sameKey = digests.get(hex);
    if (sameKey) throw new Error(`${e.origin}: duplicate key (the same key as ${sameKey})`);
    names.set(e.name, e.origin);
    digests.set(hex, e.origin);
  }
}

/** Reads both sources; the lead calls it at start and on SIGHUP. An unset or empty source adds nothing. */
export async function loadKeys(env: { API_KEYS?: string; API_KEYS_FILE?: string }): Promise<KeyEntry[]> {
  const entries = env.API_KEYS ? parseKeyEntries(env.API_KEYS, 'API_KEYS') : [];
  if (env.API_KEYS_FILE) {
    let text: string;
    try {
      text = await readFile(env.API_KEYS_FILE, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'read error';
      throw new Error(`API_KEYS_FILE: cannot read ${env.API_KEYS_FILE} (${code})`, { cause: err });
    }
    entries.push(...parseKeyEntries(text, 'API_KEYS_FILE'));
  }
  assertUnique(entries);
  return entries;
}

export class KeyRegistry {
  readonly #digests: Buffer[];
  readonly #keys: ApiKey[];
  /**
   * Keys already proven by a full lookup. Only successes are kept, so it holds at most one string per
   * configured key and a stream of wrong guesses cannot grow it; a reload builds a new registry, so a
   * removed key's entry goes with the old one. Saves a sha256 and N comparisons per request.
   */
  readonly #proven = new Map<string, ApiKey>();

  constructor(entries: readonly KeyEntry[]) {
    assertUnique(entries);
    this.#digests = entries.map((e) => e.digest);
    this.#keys = entries.map((e) => {
      const key: ApiKey = { name: e.name };
      if (e.rpm !== undefined) key.rpm = e.rpm;
      if (e.tpm !== undefined) key.tpm = e.tpm;
      return Object.freeze(key);
    });
  }

  get size(): number {
    return this.#keys.length;
  }

  /**
   * Hashing first makes the comparison independent of the presented key's length and content; every
   * entry is compared, with no early exit, so the time does not say which entry (if any) matched.
   */
  lookup(presented: string): ApiKey | undefined {
    const proven = this.#proven.get(presented);
    if (proven) return proven;
    const digest = sha256(presented);
    let found = -1;
    for (let i = 0; i < this.#digests.length; i++) {
      const equal = timingSafeEqual(digest, this.#digests[i]!);
      found = equal ? i : found;
    }
    if (found < 0) return undefined;
    const key = this.#keys[found]!;
    this.#proven.set(presented, key);
    return key;
  }
}

const BEARER = /^bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i;
const BARE_KEY = /^[ \t]*([\x21-\x7e]+)[ \t]*$/;

/**
 * The key a client presents: `Authorization: Bearer <key>` (the OpenAI SDKs and recent Anthropic SDKs;
 * scheme in any case, as vLLM accepts it, vllm.md 6), `x-api-key: <key>` (Anthropic's API, Claude Code
 * with ANTHROPIC_API_KEY) or `api-key: <key>` (the Azure OpenAI SDKs). When `Authorization` is present it
 * decides alone: a malformed one is not rescued by another header, so a client sees its own mistake;
 * `x-api-key` likewise comes before `api-key`.
 */
export function presentedKey(authorization: string | undefined, apiKeyHeader: string | undefined, xApiKeyHeader?: string): string | undefined {
  if (authorization !== undefined && authorization !== '') return BEARER.exec(authorization)?.[1];
  if (xApiKeyHeader !== undefined && xApiKeyHeader !== '') return BARE_KEY.exec(xApiKeyHeader)?.[1];
  if (apiKeyHeader !== undefined) return BARE_KEY.exec(apiKeyHeader)?.[1];
  return undefined;
}
