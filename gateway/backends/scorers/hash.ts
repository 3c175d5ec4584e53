/**
 * @module backends/scorers/hash
 * A fast non-cryptographic 32-bit string hash for the affinity ring: FNV-1a over UTF-16 code units,
 * finished with murmur3's fmix32 avalanche. FNV-1a alone maps keys that differ in the last character
 * ("gpu-a#1", "gpu-a#2") to nearby values, which would bunch a backend's virtual nodes together.
 * Session keys are not secrets and an attacker gains nothing from collisions but a busier backend, which
 * the load bound already caps.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
