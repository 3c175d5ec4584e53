/**
 * @module backends/scorers/affinity
 * Session affinity by consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018; the
 * scheme HAProxy's `hash-balance-factor` uses). A session (the caller's session key: a header or the
 * `user` field) keeps going to the same backend, so vLLM's prefix cache still holds its conversation;
 * but only while that backend is not much busier than the rest, so one heavy session cannot pin a
 * backend while the others idle.
 *
 * Reads: the session key, each backend's id and weight (virtual nodes on the ring) and load (the bound).
 * The ring is built from backend ids, not positions, so adding or removing one of n backends moves about
 * 1/n of the sessions. A backend that is not a candidate right now (full, ejected, gone) is skipped on
 * the walk, which is exactly where its sessions would go if it were removed.
 *
 * The bound, in requests: with this request added, a backend's count may be at most
 * ceil(bound × (total + 1) × its share of capacity). Counting the new request (the "+1") keeps an idle
 * set from dividing zero by zero, and the ceiling means at least one candidate always qualifies.
 */
import { weightOf, type Candidate } from './candidate.js';
import { hash32 } from './hash.js';

/** Virtual nodes per unit of weight: enough for an even spread over a handful of backends. */
const VNODES_PER_WEIGHT = 100;
const MAX_VNODES = 1_000;
/** Members remembered on the ring (ids of backends that have gone are forgotten past this). */
const MAX_MEMBERS = 512;

export class AffinityRing {
  /** Sorted by point. */
  #points: Uint32Array = new Uint32Array(0);
  #owners: string[] = [];
  readonly #members = new Map<string, number>();

  /** The session's backend among the candidates, or undefined when none is within the bound. */
  pick<T extends Candidate>(candidates: readonly T[], sessionKey: string, bound: number, now?: number): T | undefined {
    if (candidates.length === 0) return undefined;
    this.#sync(candidates);
    const byId = new Map<string, T>();
    let total = 0;
    let capacity = 0;
    const counts = new Map<string, number>();
    for (const c of candidates) {
      byId.set(c.id, c);
      const count = Math.round(c.load(now) * c.maxConcurrent);
      counts.set(c.id, count);
      total += count;
      capacity += c.maxConcurrent;
    }
    const start = lowerBound(this.#points, hash32(sessionKey));
    const checked = new Set<string>();
    for (let k = 0; k < this.#owners.length && checked.size < byId.size; k++) {
      const id = this.#owners[(start + k) % this.#owners.length] as string;
      const c = byId.get(id);
      if (!c || checked.has(id)) continue;
      checked.add(id);
      const cap = Math.ceil((bound * (total + 1) * c.maxConcurrent) / capacity);
      if ((counts.get(id) ?? 0) + 1 <= cap) return c;
    }
    return undefined;
  }

  /** The backend the ring maps the session to, ignoring load (for tests and logs). */
  owner(sessionKey: string): string | undefined {
    if (this.#owners.length === 0) return undefined;
    return this.#owners[lowerBound(this.#points, hash32(sessionKey)) % this.#owners.length];
  }

  /** Forget members not in `ids` (backends removed from the set). */
  retain(ids: Iterable<string>): void {
    const keep = new Set(ids);
    let changed = false;
    for (const id of [...this.#members.keys()]) {
      if (!keep.has(id)) changed = this.#members.delete(id) || changed;
    }
    if (changed) this.#rebuild();
  }

  #sync(candidates: readonly Candidate[]): void {
    let changed = false;
    for (const c of candidates) {
      const w = weightOf(c);
      if (this.#members.get(c.id) !== w) {
        this.#members.set(c.id, w);
        changed = true;
      }
    }
    if (this.#members.size > MAX_MEMBERS) {
      this.#members.clear();
      for (const c of candidates) this.#members.set(c.id, weightOf(c));
      changed = true;
    }
    if (changed) this.#rebuild();
  }

  #rebuild(): void {
    const entries: Array<{ point: number; id: string }> = [];
    for (const [id, weight] of this.#members) {
      const n = Math.min(MAX_VNODES, Math.max(1, Math.round(VNODES_PER_WEIGHT * weight)));
      for (let i = 0; i < n; i++) entries.push({ point: hash32(`${id}#${i}`), id });
    }
    // Ties (rare 32-bit collisions) broken by id, so the ring does not depend on insertion order.
    entries.sort((a, b) => a.point - b.point || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#points = Uint32Array.from(entries, (e) => e.point);
    this.#owners = entries.map((e) => e.id);
  }
}

/** First index whose point is >= h (wrapping to 0 past the end is the caller's modulo). */
function lowerBound(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as number) < h) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
