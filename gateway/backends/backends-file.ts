/**
 * @module backends/backends-file
 * The backends file (VLLM_BACKENDS_FILE): backends with their own name, weight, concurrency and key, which
 * VLLM_URL cannot say. JSON, validated by one zod schema; an error names the entry (by index and name, or
 * its URL without userinfo) and the field, and never repeats a key.
 *
 *   {"backends":[{"url":"http://10.0.0.5:8000","name":"gpu-a","weight":2,"maxConcurrent":16,"apiKey":"..."}]}
 */
import { z } from 'zod';
import { parseBackendUrl, redactUrl, type BackendSpec } from './backend.js';
import { MAX_BACKENDS } from './set.js';

export class BackendsFileError extends Error {
  override name = 'BackendsFileError';
}

const Entry = z.strictObject({
  url: z.string({ error: 'is required (http://host:port)' }),
  name: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(64, 'must be at most 64 characters')
    .regex(/^[A-Za-z0-9._:/[\]-]+$/, 'may only use letters, digits and . _ : / - [ ]')
    .optional(),
  weight: z.number({ error: 'must be a number' }).positive('must be greater than 0').max(1_000, 'must be at most 1000').optional(),
  maxConcurrent: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100_000, 'must be at most 100000').optional(),
  apiKey: z.string({ error: 'must be a string' }).min(1, 'must not be empty').optional(),
});

const FileShape = z.strictObject({
  backends: z.array(z.unknown(), { error: 'must be a list of backends' }).max(MAX_BACKENDS, `must list at most ${MAX_BACKENDS} backends`),
});

/** Parses the file's text. Throws BackendsFileError naming every bad entry. */
export function parseBackendsFile(text: string, path: string): BackendSpec[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BackendsFileError(`VLLM_BACKENDS_FILE ${path}: not valid JSON (${(err as Error).message})`);
  }
  const shape = FileShape.safeParse(json);
  if (!shape.success) {
    throw new BackendsFileError(`VLLM_BACKENDS_FILE ${path}: ${shape.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
  }
  const specs: BackendSpec[] = [];
  const problems: string[] = [];
  shape.data.backends.forEach((raw, index) => {
    const label = describe(raw, index);
    const entry = Entry.safeParse(raw);
    if (!entry.success) {
      for (const i of entry.error.issues) problems.push(`${label}: ${i.path.join('.') || '(entry)'}: ${i.message}`);
      return;
    }
    try {
      parseBackendUrl(entry.data.url);
    } catch (err) {
      problems.push(`${label}: url: ${(err as Error).message}`);
      return;
    }
    specs.push({ ...entry.data, url: entry.data.url.replace(/\/+$/, '') });
  });
  if (problems.length > 0) throw new BackendsFileError(`VLLM_BACKENDS_FILE ${path}: ${problems.join('; ')}`);
  return specs;
}

function describe(raw: unknown, index: number): string {
  const obj = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  if (typeof obj.name === 'string' && obj.name) return `backends[${index}] ("${obj.name.slice(0, 64)}")`;
  if (typeof obj.url === 'string' && obj.url) return `backends[${index}] (${redactUrl(obj.url).slice(0, 100)})`;
  return `backends[${index}]`;
}
