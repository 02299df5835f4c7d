import { createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../lambdas/core/bytes.js';
import {
  type DataKey, type Envelope, envelopeSchema, openJson, openPayload, prepareDataKey, sealJson,
  sealPayload, sealPayloadWithIv, unwrapKey, verifyCommitment, wrapKey,
} from '../../lambdas/core/payload-envelope.js';

const DEK_BYTES = new Uint8Array(32).map((_, i) => i);
const dek = prepareDataKey({ id: 'acme/dek/1', version: 1, key: DEK_BYTES });
const ctx = { tenant: 'acme', recordId: 'rec-1', idempotencyKey: 'idem-1' };
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const PLAINTEXT = text('{"decision":"approve"}');

/** Flips the lowest bit of byte `index` (negative counts from the end) of a base64 field. */
function flip(b64: string, index: number): string {
  const bytes = fromBase64(b64)!;
  bytes[(index + bytes.length) % bytes.length]! ^= 0x01;
  return toBase64(bytes);
}

describe('prepareDataKey', () => {
  it.each([
    ['a 31-byte key', { id: 'k', version: 1, key: new Uint8Array(31) }],
    ['a 33-byte key', { id: 'k', version: 1, key: new Uint8Array(33) }],
    ['version 0', { id: 'k', version: 0, key: new Uint8Array(32) }],
    ['a fractional version', { id: 'k', version: 1.5, key: new Uint8Array(32) }],
    ['an empty id', { id: '', version: 1, key: new Uint8Array(32) }],
    ['an id with spaces', { id: 'a b', version: 1, key: new Uint8Array(32) }],
  ])('rejects %s as INVALID_KEY', (_, input) => {
    // Act & Assess
    expect(() => prepareDataKey(input)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });

  it('exposes only id and version, never key material', () => {
    // Act
    const json = JSON.stringify(dek);
    // Assess
    expect(json).toBe('{"id":"acme/dek/1","version":1}');
  });

  it('rejects a look-alike handle that was not prepared', () => {
    // Prepare
    const forged: DataKey = { id: dek.id, version: dek.version };
    // Act & Assess
    expect(() => sealPayload(PLAINTEXT, forged, ctx)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });
});

describe('sealPayload and openPayload', () => {
  it('round-trips bytes, including empty plaintext', () => {
    for (const plaintext of [PLAINTEXT, new Uint8Array(0)]) {
      // Act
      const opened = openPayload(sealPayload(plaintext, dek, ctx), dek, ctx);
      // Assess
      expect(opened).toEqual(new Uint8Array(plaintext));
    }
  });

  it('round-trips any bytes under any context (property)', () => {
    const nonEmpty = fc.string({ minLength: 1, unit: 'grapheme' });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), nonEmpty, nonEmpty, nonEmpty, (pt, tenant, recordId, idempotencyKey) => {
      // Prepare
      const c = { tenant, recordId, idempotencyKey };
      // Act
      const opened = openPayload(sealPayload(pt, dek, c), dek, c);
      // Assess
      expect(Buffer.from(opened).equals(Buffer.from(pt))).toBe(true);
    }));
  });

  it('produces exactly the six stable keys, strings and integers only, with the right sizes', () => {
    // Act
    const env = sealPayload(PLAINTEXT, dek, ctx);
    // Assess
    expect(Object.keys(env).sort()).toEqual(['alg', 'cm', 'ct', 'iv', 'kid', 'kv']);
    expect(env).toMatchObject({ alg: 'A256GCM', kid: 'acme/dek/1', kv: 1 });
    expect(fromBase64(env.iv)).toHaveLength(12);
    expect(fromBase64(env.ct)).toHaveLength(PLAINTEXT.length + 16);
    expect(fromBase64(env.cm)).toHaveLength(32);
    expect(JSON.parse(canonicalize(env)!)).toEqual(env);
  });

  it('draws a fresh nonce per seal, so equal inputs give different ciphertexts', () => {
    // Act
    const a = sealPayload(PLAINTEXT, dek, ctx);
    const b = sealPayload(PLAINTEXT, dek, ctx);
    // Assess
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
    expect(a.cm).toBe(b.cm);
  });
});

describe('payload context', () => {
  it.each(['tenant', 'recordId', 'idempotencyKey'])('rejects an empty or missing %s as INVALID_ENVELOPE', (field) => {
    // Prepare
    const env = sealPayload(PLAINTEXT, dek, ctx);
    const invalid = expect.objectContaining({ code: 'INVALID_ENVELOPE' });
    // Act & Assess
    expect(() => sealPayload(PLAINTEXT, dek, { ...ctx, [field]: '' })).toThrow(invalid);
    expect(() => openPayload(env, dek, { ...ctx, [field]: undefined } as never)).toThrow(invalid);
  });
});

describe('sealJson and openJson', () => {
  it('encrypts the RFC 8785 canonical bytes of the value', () => {
    // Act
    const env = sealJson({ z: 1, a: ['x', null] }, dek, ctx);
    // Assess
    expect(new TextDecoder().decode(openPayload(env, dek, ctx))).toBe('{"a":["x",null],"z":1}');
  });

  it('round-trips any JSON value (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      // Act
      const opened = openJson(sealJson(value, dek, ctx), dek, ctx);
      // Assess
      expect(canonicalize(opened)).toBe(canonicalize(value));
    }));
  });

  it.each([['undefined', undefined], ['NaN', Number.NaN], ['a BigInt', 1n], ['a lone surrogate', '\ud800']])(
    'rejects %s as INVALID_ENVELOPE', (_, value) => {
      // Act & Assess
      expect(() => sealJson(value, dek, ctx)).toThrow(expect.objectContaining({ code: 'INVALID_ENVELOPE' }));
    });

  it('rejects a plaintext that is not UTF-8 JSON as INVALID_ENVELOPE', () => {
    // Prepare
    const env = sealPayload(new Uint8Array([0xff, 0x7b]), dek, ctx);
    // Act & Assess
    expect(() => openJson(env, dek, ctx)).toThrow(expect.objectContaining({ code: 'INVALID_ENVELOPE' }));
  });
});

describe('openPayload rejects tampering', () => {
  const env = sealPayload(PLAINTEXT, dek, ctx);
  const failed = expect.objectContaining({ name: 'DecryptionFailedError', code: 'DECRYPTION_FAILED' });

  it.each<[string, Partial<Envelope>]>([
    ['iv', { iv: flip(env.iv, 0) }],
    ['ct body', { ct: flip(env.ct, 3) }],
    ['ct tag', { ct: flip(env.ct, -1) }],
    ['cm', { cm: flip(env.cm, 7) }],
  ])('a flipped bit in %s', (_, change) => {
    // Act & Assess
    expect(() => openPayload({ ...env, ...change }, dek, ctx)).toThrow(failed);
  });

  it.each([['tenant', 'other'], ['recordId', 'rec-2'], ['idempotencyKey', 'idem-2']])(
    'a different %s in the context', (field, value) => {
      // Act & Assess
      expect(() => openPayload(env, dek, { ...ctx, [field]: value })).toThrow(failed);
    });

  it.each<[string, Partial<Envelope>, { id: string; version: number }]>([
    ['kid', { kid: 'acme/dek/X' }, { id: 'acme/dek/X', version: 1 }],
    ['kv', { kv: 2 }, { id: 'acme/dek/1', version: 2 }],
  ])('a rewritten %s, even with the same key bytes under that name', (_, change, name) => {
    // Prepare
    const renamed = prepareDataKey({ ...name, key: DEK_BYTES });
    // Act & Assess
    expect(() => openPayload({ ...env, ...change }, dek, ctx)).toThrow(expect.objectContaining({
      name: 'KeyMismatchError', code: 'DECRYPTION_FAILED',
      envelopeKey: { kid: name.id, kv: name.version }, suppliedKey: { kid: 'acme/dek/1', kv: 1 },
    }));
    expect(() => openPayload({ ...env, ...change }, renamed, ctx)).toThrow(failed);
  });

  it('a rewritten alg', () => {
    // Act & Assess
    expect(() => openPayload({ ...env, alg: 'A128GCM' }, dek, ctx))
      .toThrow(expect.objectContaining({ code: 'INVALID_ENVELOPE' }));
  });

  it('a different key with the same id and version', () => {
    // Prepare
    const other = prepareDataKey({ id: dek.id, version: dek.version, key: randomBytes(32) });
    // Act & Assess
    expect(() => openPayload(env, other, ctx)).toThrow(failed);
  });
});

describe('openPayload rejects malformed envelopes', () => {
  const env = sealPayload(PLAINTEXT, dek, ctx);
  const { cm: _cm, ...withoutCm } = env;

  it.each<[string, unknown]>([
    ['an extra key', { ...env, position: 1 }],
    ['a missing key', withoutCm],
    ['bad base64', { ...env, iv: 'not*base64!!' }],
    ['non-canonical base64', { ...env, cm: `${env.cm}\n` }],
    ['a 16-byte iv', { ...env, iv: toBase64(new Uint8Array(16)) }],
    ['a 31-byte cm', { ...env, cm: toBase64(new Uint8Array(31)) }],
    ['a ct shorter than a tag', { ...env, ct: toBase64(new Uint8Array(15)) }],
    ['kv 0', { ...env, kv: 0 }],
    ['kv as a string', { ...env, kv: '1' }],
    ['null', null],
    ['an array', [env]],
  ])('%s as INVALID_ENVELOPE', (_, bad) => {
    // Act & Assess
    expect(() => openPayload(bad, dek, ctx)).toThrow(expect.objectContaining({ code: 'INVALID_ENVELOPE' }));
  });
});

describe('verifyCommitment', () => {
  const env = sealPayload(PLAINTEXT, dek, ctx);

  it('is true for the sealed plaintext', () => {
    // Act & Assess
    expect(verifyCommitment(env, dek, ctx, PLAINTEXT)).toBe(true);
  });

  it('is false for any other plaintext (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (other) => {
      fc.pre(!Buffer.from(other).equals(Buffer.from(PLAINTEXT)));
      // Act & Assess
      expect(verifyCommitment(env, dek, ctx, other)).toBe(false);
    }), { examples: [[PLAINTEXT.subarray(1)], [new Uint8Array(0)], [text('{"decision":"approvf"}')]] });
  });

  it('is false under another context', () => {
    // Act & Assess
    expect(verifyCommitment(env, dek, { ...ctx, recordId: 'rec-2' }, PLAINTEXT)).toBe(false);
  });
});

describe('wrapKey and unwrapKey', () => {
  const kek = randomBytes(32);
  const keyBytes = randomBytes(32);
  const aad = { tenant: 'acme', kekVersion: 2 };
  const wrapped = wrapKey(kek, keyBytes, aad);
  const failed = expect.objectContaining({ code: 'DECRYPTION_FAILED' });

  it('round-trips with byte and KeyObject KEKs, as exactly { iv, ct }', () => {
    // Act
    const viaObject = unwrapKey(createSecretKey(kek), wrapKey(createSecretKey(kek), keyBytes, aad), aad);
    // Assess
    expect(Object.keys(wrapped).sort()).toEqual(['ct', 'iv']);
    expect(unwrapKey(kek, wrapped, aad)).toEqual(new Uint8Array(keyBytes));
    expect(viaObject).toEqual(new Uint8Array(keyBytes));
    expect(wrapKey(kek, keyBytes, aad).iv).not.toBe(wrapped.iv);
  });

  it('binds AAD = RFC 8785 { purpose: "govledger/v1/key-wrap", context }', () => {
    // Prepare
    const ct = fromBase64(wrapped.ct)!;
    const decipher = createDecipheriv('aes-256-gcm', kek, fromBase64(wrapped.iv)!, { authTagLength: 16 });
    decipher.setAAD(text('{"context":{"kekVersion":2,"tenant":"acme"},"purpose":"govledger/v1/key-wrap"}'));
    decipher.setAuthTag(ct.subarray(-16));
    // Act
    const out = Buffer.concat([decipher.update(ct.subarray(0, -16)), decipher.final()]);
    // Assess
    expect(out.equals(keyBytes)).toBe(true);
  });

  it.each<[string, object]>([
    ['a flipped iv', { ...wrapped, iv: flip(wrapped.iv, 0) }],
    ['a flipped ct body', { ...wrapped, ct: flip(wrapped.ct, 0) }],
    ['a flipped tag', { ...wrapped, ct: flip(wrapped.ct, -1) }],
  ])('rejects %s', (_, bad) => {
    // Act & Assess
    expect(() => unwrapKey(kek, bad, aad)).toThrow(failed);
  });

  it.each<[string, Record<string, string | number>]>([
    ['another tenant', { ...aad, tenant: 'other' }],
    ['another KEK version', { ...aad, kekVersion: 3 }],
    ['an extra field', { ...aad, extra: 'x' }],
    ['a missing field', { tenant: 'acme' }],
  ])('rejects a context with %s', (_, other) => {
    // Act & Assess
    expect(() => unwrapKey(kek, wrapped, other)).toThrow(failed);
  });

  it('rejects the wrong KEK', () => {
    // Act & Assess
    expect(() => unwrapKey(randomBytes(32), wrapped, aad)).toThrow(failed);
  });

  it('rejects malformed input with typed errors', () => {
    // Act & Assess
    expect(() => unwrapKey(kek, { ...wrapped, kid: 'x' }, aad)).toThrow(expect.objectContaining({ code: 'INVALID_ENVELOPE' }));
    expect(() => unwrapKey(kek, { ...wrapped, ct: '@@' }, aad)).toThrow(expect.objectContaining({ code: 'INVALID_ENVELOPE' }));
    expect(() => wrapKey(kek, keyBytes, { n: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ENVELOPE' }));
    expect(() => wrapKey(randomBytes(16), keyBytes, aad)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    expect(() => wrapKey(kek, new Uint8Array(0), aad)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });
});

describe('known-answer vector (construction v1)', () => {
  // Computed independently with Python `cryptography` (HKDF, AESGCM, hmac) from the
  // construction documented in payload-envelope.ts; a change to it must break this test.
  const key = prepareDataKey({ id: 'kat-dek', version: 3, key: new Uint8Array(32).map((_, i) => i) });
  const iv = new Uint8Array(12).map((_, i) => 0xa0 + i);
  const plaintext = text('{"decision":"approve","n":1}');
  const vector: Envelope = {
    alg: 'A256GCM',
    kid: 'kat-dek',
    kv: 3,
    iv: 'oKGio6Slpqeoqaqr',
    ct: 'Cq9V1TA/Kpt+eHGGv+aXGFGiICu9fqJc8Uk3sKHzfciphjDfLOjhjbw7CSE=',
    cm: 'dPEYAafXtjfyoSy+/sAh5gD7beypY1u+0lMWynH6Do4=',
  };

  it('seals to the vector with a fixed nonce', () => {
    // Act
    const env = sealPayloadWithIv(plaintext, key, ctx, iv);
    // Assess
    expect(env).toStrictEqual(vector);
    expect(envelopeSchema.parse(env)).toStrictEqual(vector);
  });

  it('opens the vector', () => {
    // Act
    const opened = openPayload(vector, key, ctx);
    // Assess
    expect(Buffer.from(opened).toString()).toBe('{"decision":"approve","n":1}');
  });
});
