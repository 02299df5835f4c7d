import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitLength, isIndex, lowBits, onesCount, shiftLeft, shiftRight, trailingZeros, xor } from '../../lambdas/core/bits.js';

// The reference is BigInt arithmetic, which has no 32-bit limit; Go's math/bits
// semantics (Len64, TrailingZeros64, OnesCount64) are what the functions claim.
const MAX = Number.MAX_SAFE_INTEGER;
const big = (x: number) => BigInt(x);
const refBitLength = (x: number) => (x === 0 ? 0 : big(x).toString(2).length);
const refTrailingZeros = (x: number) => (x === 0 ? 64 : big(x).toString(2).length - big(x).toString(2).lastIndexOf('1') - 1);
const refOnesCount = (x: number) => [...big(x).toString(2)].filter((c) => c === '1').length;

/** Safe non-negative integers, biased to the 32-bit seam and powers of two. */
const index = fc.oneof(
  fc.maxSafeNat(),
  fc.nat(),
  fc.tuple(fc.integer({ min: 0, max: 53 }), fc.integer({ min: -2, max: 2 })).map(([k, d]) => Math.min(MAX, Math.max(0, 2 ** k + d))),
  fc.nat(2 ** 21 - 1).map((h) => h * 2 ** 32),
  fc.tuple(fc.nat(2 ** 21 - 1), fc.constantFrom(0, 1, 2 ** 31, 2 ** 32 - 1)).map(([h, l]) => h * 2 ** 32 + l),
);
const shift = fc.integer({ min: 0, max: 70 });
const RUNS = { numRuns: 2000 };

describe('bitLength', () => {
  it('equals the length of the binary representation (0 for 0)', () => {
    fc.assert(
      fc.property(index, (x) => {
        // Act
        const got = bitLength(x);
        // Assess
        expect(got).toBe(refBitLength(x));
      }),
      RUNS,
    );
  });
});

describe('trailingZeros', () => {
  it('counts the zero bits below the lowest one bit (64 for 0)', () => {
    fc.assert(
      fc.property(index, (x) => {
        // Act
        const got = trailingZeros(x);
        // Assess
        expect(got).toBe(refTrailingZeros(x));
      }),
      RUNS,
    );
  });
});

describe('onesCount', () => {
  it('counts the one bits of both 32-bit halves', () => {
    fc.assert(
      fc.property(index, (x) => {
        // Act
        const got = onesCount(x);
        // Assess
        expect(got).toBe(refOnesCount(x));
      }),
      RUNS,
    );
  });
});

describe('xor', () => {
  it('equals BigInt XOR on all 53 bits', () => {
    fc.assert(
      fc.property(index, index, (a, b) => {
        // Act
        const got = xor(a, b);
        // Assess
        expect(got).toBe(Number(big(a) ^ big(b)));
      }),
      RUNS,
    );
  });
});

describe('shiftRight', () => {
  it('equals BigInt >> for shifts 0..70', () => {
    fc.assert(
      fc.property(index, shift, (x, k) => {
        // Act
        const got = shiftRight(x, k);
        // Assess
        expect(got).toBe(Number(big(x) >> BigInt(k)));
      }),
      RUNS,
    );
  });
});

describe('shiftLeft', () => {
  it('equals BigInt << while the result stays a safe integer', () => {
    fc.assert(
      fc.property(index, shift, (x, k) => {
        // Prepare
        const want = big(x) << BigInt(k);
        fc.pre(want <= big(MAX));
        // Act
        const got = shiftLeft(x, k);
        // Assess
        expect(got).toBe(Number(want));
      }),
      RUNS,
    );
  });
});

describe('lowBits', () => {
  it('equals x & (2^k − 1) for k in 0..70', () => {
    fc.assert(
      fc.property(index, shift, (x, k) => {
        // Act
        const got = lowBits(x, k);
        // Assess
        expect(got).toBe(Number(big(x) & ((1n << BigInt(k)) - 1n)));
      }),
      RUNS,
    );
  });
});

describe('isIndex', () => {
  it('accepts non-negative safe integers', () => {
    fc.assert(
      fc.property(index, (x) => {
        // Act
        const got = isIndex(x);
        // Assess
        expect(got).toBe(true);
      }),
      RUNS,
    );
  });

  it.each([-1, 0.5, 2 ** 53, 2 ** 64, Number.NaN, Number.POSITIVE_INFINITY, '1', 1n, null, undefined])(
    'rejects %s',
    (x) => {
      // Act
      const got = isIndex(x);
      // Assess
      expect(got).toBe(false);
    },
  );
});
