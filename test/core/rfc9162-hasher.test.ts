import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoreError } from '../../lambdas/core/errors.js';
import { EMPTY_ROOT, HASH_SIZE, hashChildren, hashChildrenInPlace, hashLeaf, hashLeafHex, LeafInput, sha256, writeDigest } from '../../lambdas/core/rfc9162-hasher.js';
import { refHashChildren, refHashLeaf, refSha256 } from './reference-merkle.js';

// Published known answers, read from ../shared/vectors/rfc6962-8leaf.json:
// github.com/transparency-dev/merkle @ 417fb0c314750d94e53942e9f92e79b6d35915db,
// testonly/constants.go (LeafInputs, NodeHashes, RootHashes) and
// rfc6962/rfc6962_test.go (TestRFC6962Hasher: empty leaf, leaf "L123456", node "N123"/"N456").
interface Rfc6962Vectors {
  leaves: string[];
  rootsBySize: string[];
  nodeHashesByLevel: string[][];
  hasher: { emptyRoot: string; emptyLeaf: string; leaf_L123456: string; children_N123_N456: string };
}
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectors = JSON.parse(
  readFileSync(path.resolve(repoRoot, '..', 'shared', 'vectors', 'rfc6962-8leaf.json'), 'utf8'),
) as Rfc6962Vectors;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8 = (s: string) => new TextEncoder().encode(s);
const bytes32 = fc.uint8Array({ minLength: HASH_SIZE, maxLength: HASH_SIZE });

describe('EMPTY_ROOT', () => {
  it('is the published RFC 6962 empty-tree root, SHA-256 of nothing', () => {
    // Act
    const got = hex(EMPTY_ROOT);
    // Assess
    expect(got).toBe(vectors.hasher.emptyRoot);
    expect(got).toBe(vectors.rootsBySize[0]);
  });
});

describe('sha256', () => {
  it('hashes the empty string to the published empty root', () => {
    // Act
    const got = sha256(new Uint8Array(0));
    // Assess
    expect(hex(got)).toBe(vectors.hasher.emptyRoot);
  });

  it('agrees with node:crypto createHash on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        // Act
        const got = sha256(data);
        // Assess
        expect(hex(got)).toBe(hex(refSha256(data)));
      }),
    );
  });
});

describe('hashLeaf', () => {
  it('hashes the empty leaf to the published value', () => {
    // Act
    const got = hashLeaf(new Uint8Array(0));
    // Assess
    expect(hex(got)).toBe(vectors.hasher.emptyLeaf);
  });

  it('hashes leaf "L123456" to the published value', () => {
    // Act
    const got = hashLeaf(utf8('L123456'));
    // Assess
    expect(hex(got)).toBe(vectors.hasher.leaf_L123456);
  });

  it.each(vectors.leaves.map((leaf, i) => ({ leaf, i })))('hashes RFC 6962 test leaf $i ("$leaf") to its published level-0 node hash', ({ leaf, i }) => {
    // Act
    const got = hashLeaf(Buffer.from(leaf, 'hex'));
    // Assess
    expect(hex(got)).toBe(vectors.nodeHashesByLevel[0]![i]);
  });

  it('equals SHA-256(0x00 ‖ data) for arbitrary data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        // Act
        const got = hashLeaf(data);
        // Assess
        expect(hex(got)).toBe(hex(refHashLeaf(data)));
      }),
    );
  });

  it('hashes inputs larger than its 64 KiB scratch buffer, and smaller ones afterwards', () => {
    // Prepare
    const large = new Uint8Array(200_000).map((_, i) => i * 7);
    const small = utf8('L123456');
    // Act
    const gotLarge = hashLeaf(large);
    const gotSmall = hashLeaf(small);
    // Assess
    expect(hex(gotLarge)).toBe(hex(refHashLeaf(large)));
    expect(hex(gotSmall)).toBe(vectors.hasher.leaf_L123456);
  });

  it('returns a fresh buffer that later calls do not overwrite', () => {
    // Prepare
    const first = hashLeaf(utf8('L123456'));
    // Act
    hashLeaf(utf8('something else'));
    hashChildren(first, first);
    // Assess
    expect(hex(first)).toBe(vectors.hasher.leaf_L123456);
  });
});

describe('hashLeafHex', () => {
  it('prints the published hash of leaf "L123456" as lowercase hex', () => {
    // Act
    const got = hashLeafHex(utf8('L123456'));
    // Assess
    expect(got).toBe(vectors.hasher.leaf_L123456);
  });

  it('equals the hex of SHA-256(0x00 ‖ data) for arbitrary data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        // Act
        const got = hashLeafHex(data);
        // Assess
        expect(got).toBe(hex(refHashLeaf(data)));
      }),
    );
  });
});

describe('hashChildren', () => {
  it.each(vectors.nodeHashesByLevel.slice(1).map((nodes, i) => ({ level: i + 1, nodes })))(
    'rebuilds every published level-$level node of the RFC 6962 tree from its children',
    ({ level, nodes }) => {
      // Prepare
      const children = vectors.nodeHashesByLevel[level - 1]!.map((h) => Buffer.from(h, 'hex'));
      // Act
      const got = nodes.map((_, j) => hex(hashChildren(children[2 * j]!, children[2 * j + 1]!)));
      // Assess
      expect(got).toEqual(nodes);
    },
  );

  // Go's TestRFC6962Hasher uses 4-byte children: the fast 65-byte input buffer
  // must not be used for them (a regression test for stale bytes).
  it('hashes "N123" and "N456" to the published value', () => {
    // Act
    const got = hashChildren(utf8('N123'), utf8('N456'));
    // Assess
    expect(hex(got)).toBe(vectors.hasher.children_N123_N456);
  });

  it('equals SHA-256(0x01 ‖ left ‖ right) for arbitrary 32-byte children', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (left, right) => {
        // Act
        const got = hashChildren(left, right);
        // Assess
        expect(hex(got)).toBe(hex(refHashChildren(left, right)));
      }),
    );
  });

  it('is domain-separated from hashLeaf: a leaf whose data is left ‖ right hashes differently', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (left, right) => {
        // Act
        const node = hashChildren(left, right);
        const leaf = hashLeaf(Buffer.concat([left, right]));
        // Assess
        expect(hex(node)).not.toBe(hex(leaf));
      }),
      { numRuns: 20 },
    );
  });

  it('is order-sensitive', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (left, right) => {
        // Prepare
        fc.pre(hex(left) !== hex(right));
        // Act
        const forward = hashChildren(left, right);
        const backward = hashChildren(right, left);
        // Assess
        expect(hex(forward)).not.toBe(hex(backward));
      }),
      { numRuns: 20 },
    );
  });
});

describe('hashChildrenInPlace', () => {
  it('replaces the left child with SHA-256(0x01 ‖ left ‖ right) and restores the byte before it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 1 }), bytes32, bytes32, (before, left, right) => {
        // Prepare: the byte before the children belongs to someone else (another node, padding)
        const input = Buffer.concat([before, left, right]);
        // Act
        hashChildrenInPlace(input);
        // Assess
        expect(input[0]).toBe(before[0]);
        expect(hex(input.subarray(1, 33))).toBe(hex(refHashChildren(left, right)));
        expect(hex(input.subarray(33))).toBe(hex(right));
      }),
    );
  });

  it.each([64, 66, 0])('rejects a %i-byte input with a CoreError, hashing nothing', (length) => {
    // Prepare
    const input = Buffer.alloc(length, 7);
    // Act
    const act = () => hashChildrenInPlace(input);
    // Assess
    expect(act).toThrow(CoreError);
    expect(input.equals(Buffer.alloc(length, 7))).toBe(true);
  });
});

describe('LeafInput', () => {
  it('hashes what was loaded last, as hashLeaf does, whatever the order of lengths (cached views never serve stale bytes)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 12 }), (items) => {
        // Prepare: a small capacity, so that some loads must grow it
        const input = new LeafInput(64);
        for (const data of items) {
          // Act
          input.load(data);
          // Assess
          expect(Buffer.from(input.digest(), 'latin1').toString('hex')).toBe(hex(refHashLeaf(data)));
          expect(input.hex()).toBe(hex(refHashLeaf(data)));
          expect(input.length).toBe(data.length);
          expect(hex(input.bytes.subarray(0, data.length + 1))).toBe(hex(Buffer.concat([Uint8Array.of(0), data])));
        }
      }),
    );
  });

  it('keeps the loaded bytes after hashing, and a copy of them: changing the source later changes nothing', () => {
    // Prepare
    const source = Buffer.from('L123456');
    const input = new LeafInput();
    // Act
    input.load(source);
    source.fill(0x78);
    // Assess
    expect(input.bytes.toString('latin1', 1, 1 + input.length)).toBe('L123456');
    expect(input.hex()).toBe(vectors.hasher.leaf_L123456);
  });
});

describe('writeDigest', () => {
  it('writes the 32 bytes of a binary digest string where it is told', () => {
    // Prepare
    const digest = Buffer.from(vectors.hasher.leaf_L123456, 'hex').toString('latin1');
    const out = Buffer.alloc(40, 0xee);
    // Act
    writeDigest(digest, out, 4);
    // Assess
    expect(hex(out.subarray(4, 36))).toBe(vectors.hasher.leaf_L123456);
    expect([...out.subarray(0, 4), ...out.subarray(36)]).toEqual(Array(8).fill(0xee));
  });
});
