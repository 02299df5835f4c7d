import { generateKeyPairSync, type KeyObject, sign as ed25519Sign } from 'node:crypto';
import { DisabledException, GetPublicKeyCommand, KMSClient, NotFoundException, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsNoteSigner } from '../../lambdas/adapters/aws/kms-note-signer.js';
import { openCheckpoint, signCheckpoint } from '../../lambdas/core/checkpoint.js';
import { InvalidKeyError } from '../../lambdas/core/note-errors.js';
import { Ed25519NoteVerifier, keyIdFor, openNote, signNote, verifierKeyFor } from '../../lambdas/core/signed-note.js';
import { KeyServiceUnavailableError, KeyUnavailableError } from '../../lambdas/ports/errors.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef';
const ORIGIN = 'ledger.example.com/acme';
const kms = mockClient(KMSClient);
const client = () => new KMSClient({ region: 'eu-west-1' });
const real = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const spki = (key: KeyObject) => new Uint8Array(key.export({ format: 'der', type: 'spki' }));
const rawPublic = (key: KeyObject) => new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url'));

/** GetPublicKey answers with `real`'s SPKI; Sign signs the Message with `signWith`'s private key. */
function kmsWithKey(signWith: KeyObject = real.privateKey, overrides: Record<string, unknown> = {}): void {
  kms.on(GetPublicKeyCommand).resolves({
    KeyId: KEY_ARN, KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'], PublicKey: spki(real.publicKey), ...overrides,
  });
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({
    KeyId: KEY_ARN, SigningAlgorithm: 'ED25519_SHA_512', Signature: new Uint8Array(ed25519Sign(null, input.Message, signWith)),
  }));
}

beforeEach(() => kms.reset());

describe('KmsNoteSigner.create', () => {
  it('reads the public key once and derives the C2SP key id and verifier key for its name', async () => {
    // Prepare
    kmsWithKey();
    // Act
    const signer = await KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    // Assess
    expect(kms.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input)).toEqual([{ KeyId: KEY_ARN }]);
    expect(signer.name).toBe(ORIGIN);
    expect(signer.publicKey).toEqual(rawPublic(real.publicKey));
    expect(signer.keyId).toBe(keyIdFor(ORIGIN, rawPublic(real.publicKey)));
    expect(signer.verifierKey).toBe(verifierKeyFor(ORIGIN, real.publicKey));
  });

  it.each([
    ['a P-256 key', { KeySpec: 'ECC_NIST_P256' }],
    ['an encryption key', { KeyUsage: 'ENCRYPT_DECRYPT' }],
    ['a key without ED25519_SHA_512', { SigningAlgorithms: ['ED25519_PH_SHA_512'] }],
    ['a non-Ed25519 SPKI', { PublicKey: spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey) }],
    ['garbage instead of SPKI', { PublicKey: new Uint8Array([0x30, 0x03, 1, 2, 3]) }],
    ['no public key', { PublicKey: undefined }],
  ])('refuses %s with KeyUnavailableError', async (_, overrides) => {
    // Prepare
    kmsWithKey(real.privateKey, overrides);
    // Act
    const result = KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    // Assess
    await expect(result).rejects.toBeInstanceOf(KeyUnavailableError);
  });

  it.each([
    ['NotFoundException', new NotFoundException({ message: 'no such key', $metadata: {} }), KeyUnavailableError],
    ['ThrottlingException', Object.assign(new Error('slow down'), { name: 'ThrottlingException' }), KeyServiceUnavailableError],
  ])('maps %s from GetPublicKey, keeping the cause', async (_, error, Expected) => {
    // Prepare
    kms.on(GetPublicKeyCommand).rejects(error);
    // Act
    const result = KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    // Assess
    await expect(result).rejects.toBeInstanceOf(Expected);
    await expect(result).rejects.toMatchObject({ cause: error });
  });

  it('refuses an invalid key name before calling KMS', async () => {
    // Act
    const result = KmsNoteSigner.create(client(), KEY_ARN, 'has space');
    // Assess
    await expect(result).rejects.toBeInstanceOf(InvalidKeyError);
    expect(kms.calls()).toHaveLength(0);
  });
});

describe('KmsNoteSigner.sign', () => {
  it('signs notes with Sign (RAW, ED25519_SHA_512) that the core verifier accepts', async () => {
    // Prepare
    kmsWithKey();
    const signer = await KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    // Act
    const note = await signNote('hello, auditor\n', [signer]);
    const opened = openNote(note, [new Ed25519NoteVerifier(signer.verifierKey)]);
    // Assess
    expect(opened.text).toBe('hello, auditor\n');
    expect(kms.commandCalls(SignCommand)[0]!.args[0].input).toEqual({
      KeyId: KEY_ARN, Message: new TextEncoder().encode('hello, auditor\n'), MessageType: 'RAW', SigningAlgorithm: 'ED25519_SHA_512',
    });
  });

  it('signs checkpoints that openCheckpoint accepts, reading the public key only once', async () => {
    // Prepare
    kmsWithKey();
    const signer = await KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    const rootHash = new Uint8Array(32).fill(0xab);
    // Act
    const first = await signCheckpoint({ origin: ORIGIN, size: 1, rootHash }, signer);
    const second = await signCheckpoint({ origin: ORIGIN, size: 2, rootHash }, signer);
    const checkpoint = openCheckpoint(second, new Ed25519NoteVerifier(signer.verifierKey), { origin: ORIGIN });
    // Assess
    expect(first).not.toBe(second);
    expect(checkpoint).toMatchObject({ origin: ORIGIN, size: 2 });
    expect(kms.commandCalls(SignCommand)).toHaveLength(2);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
  });

  it('refuses a signature from another key, which the core verifier rejects too', async () => {
    // Prepare
    kmsWithKey(other.privateKey);
    const signer = await KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    const message = new TextEncoder().encode('size 1\n');
    // Act
    const result = signer.sign(message);
    // Assess
    await expect(result).rejects.toBeInstanceOf(KeyUnavailableError);
    await expect(result).rejects.toThrow('does not verify');
    const forged = new Uint8Array(ed25519Sign(null, message, other.privateKey));
    expect(new Ed25519NoteVerifier(signer.verifierKey).verify(message, forged)).toBe(false);
  });

  it.each([63, 65, 0])('treats a %i-byte signature as KeyServiceUnavailableError', async (length) => {
    // Prepare
    kmsWithKey();
    const signer = await KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    kms.on(SignCommand).resolves({ KeyId: KEY_ARN, Signature: new Uint8Array(length) });
    // Act
    const result = signer.sign(new Uint8Array([1]));
    // Assess
    await expect(result).rejects.toBeInstanceOf(KeyServiceUnavailableError);
  });

  it('maps Sign errors (a disabled key) to KeyUnavailableError, keeping the cause', async () => {
    // Prepare
    kmsWithKey();
    const signer = await KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    const error = new DisabledException({ message: 'key is disabled', $metadata: {} });
    kms.on(SignCommand).rejects(error);
    // Act
    const result = signer.sign(new Uint8Array([1]));
    // Assess
    await expect(result).rejects.toBeInstanceOf(KeyUnavailableError);
    await expect(result).rejects.toMatchObject({ cause: error });
  });

  it('refuses messages over the 4096-byte RAW limit without calling KMS', async () => {
    // Prepare
    kmsWithKey();
    const signer = await KmsNoteSigner.create(client(), KEY_ARN, ORIGIN);
    // Act
    const result = signer.sign(new Uint8Array(4097));
    // Assess
    await expect(result).rejects.toBeInstanceOf(RangeError);
    expect(kms.commandCalls(SignCommand)).toHaveLength(0);
  });
});
