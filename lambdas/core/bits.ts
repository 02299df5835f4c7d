/**
 * Bit arithmetic on tree indices up to 2^53 − 1. JavaScript's bitwise operators
 * work on 32 bits only, so indices are split into high and low 32-bit halves.
 * Every function expects non-negative safe integers (callers validate).
 */
const TWO_32 = 0x1_0000_0000;

function hi(x: number): number {
  return Math.floor(x / TWO_32);
}
function lo(x: number): number {
  return x >>> 0;
}

/** Number of bits needed to represent x (Go's bits.Len64); 0 for x = 0. */
export function bitLength(x: number): number {
  const h = hi(x);
  return h !== 0 ? 64 - Math.clz32(h) : 32 - Math.clz32(lo(x));
}

/** Number of trailing zero bits of x (Go's bits.TrailingZeros64); 64 for x = 0. */
export function trailingZeros(x: number): number {
  if (x === 0) return 64;
  const l = lo(x);
  if (l !== 0) return 31 - Math.clz32(l & -l);
  const h = hi(x);
  return 32 + 31 - Math.clz32(h & -h);
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Number of one bits of x (Go's bits.OnesCount64). */
export function onesCount(x: number): number {
  return popcount32(lo(x)) + popcount32(hi(x));
}

/** a XOR b. */
export function xor(a: number, b: number): number {
  return (hi(a) ^ hi(b)) * TWO_32 + (((lo(a) ^ lo(b)) >>> 0));
}

/** x >> k (k ≥ 0). */
export function shiftRight(x: number, k: number): number {
  return k === 0 ? x : Math.floor(x / 2 ** k);
}

/** x << k; the caller keeps the result below 2^53. */
export function shiftLeft(x: number, k: number): number {
  return x * 2 ** k;
}

/** x & (2^k − 1): the low k bits of x. */
export function lowBits(x: number, k: number): number {
  return k >= 53 ? x : x % 2 ** k;
}

/** True for a non-negative safe integer. */
export function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
