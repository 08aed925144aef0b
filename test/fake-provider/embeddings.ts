/**
 * Deterministic embedding vectors: the same input and dimension always give the same unit-length
 * vector, so tests (and caches under test) can compare them exactly. Values are float32-exact, so
 * the float array and the base64 form (little-endian float32, as OpenAI sends for
 * `encoding_format: "base64"`) decode to identical numbers.
 */

const CACHE_LIMIT = 512;
const cache = new Map<string, Float32Array>();

/** FNV-1a over UTF-16 code units: cheap and stable. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The vector for one input (a string, or token ids joined), cached for repeated inputs. */
export function embeddingVector(input: string, dimensions: number): Float32Array {
  const key = `${dimensions}:${input}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const next = prng(hash(input));
  const v = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const x = next() * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < dimensions; i++) v[i] = (v[i] ?? 0) * scale;
  if (cache.size >= CACHE_LIMIT) {
    const first = cache.keys().next();
    if (!first.done) cache.delete(first.value);
  }
  cache.set(key, v);
  return v;
}

export function toFloatArray(v: Float32Array): number[] {
  return Array.from(v);
}

export function toBase64(v: Float32Array): string {
  // Float32Array uses the platform's byte order; every platform Node runs on is little-endian.
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}
