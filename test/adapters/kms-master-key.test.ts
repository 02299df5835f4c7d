import {
  DecryptCommand, DependencyTimeoutException, DisabledException, GenerateDataKeyCommand, IncorrectKeyException,
  InvalidCiphertextException, KeyUnavailableException, KMSClient, KMSInternalException, KMSInvalidStateException,
  NotFoundException, CustomKeyStoreInvalidStateException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsMasterKey, mapKmsError } from '../../lambdas/adapters/aws/kms-master-key.js';
import { KeyServiceUnavailableError, KeyUnavailableError } from '../../lambdas/ports/errors.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const context = { tenant: 'acme', kekVersion: 3 };
const encryptionContext = { purpose: 'govledger/kek', tenant: 'acme', kekVersion: '3' };
const kms = mockClient(KMSClient);
const master = () => new KmsMasterKey(new KMSClient({ region: 'eu-west-1' }), KEY_ARN);
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

/** An AWS service error as the SDK raises it, for errors without a modelled class. */
function awsError(name: string, fault: 'client' | 'server' = 'client'): Error {
  return Object.assign(new Error(`${name} from the mock`), { name, $fault: fault, $metadata: { httpStatusCode: 400 } });
}
const modelled = <T>(Ctor: new (o: { message: string; $metadata: object }) => T): T =>
  new Ctor({ message: 'from the mock', $metadata: {} });

beforeEach(() => kms.reset());

describe('KmsMasterKey.generateKek', () => {
  it('sends GenerateDataKey with the key id, AES_256 and the KEK encryption context', async () => {
    // Prepare
    kms.on(GenerateDataKeyCommand).resolves({ KeyId: KEY_ARN, Plaintext: bytes(32, 7), CiphertextBlob: bytes(150, 9) });
    // Act
    const generated = await master().generateKek(context);
    // Assess
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input).toEqual({
      KeyId: KEY_ARN, KeySpec: 'AES_256', EncryptionContext: encryptionContext,
    });
    expect(generated).toEqual({ plaintext: bytes(32, 7), wrapped: bytes(150, 9) });
  });

  it.each([
    ['no plaintext', { CiphertextBlob: bytes(150, 9) }],
    ['a 16-byte plaintext', { Plaintext: bytes(16, 7), CiphertextBlob: bytes(150, 9) }],
    ['no ciphertext', { Plaintext: bytes(32, 7) }],
  ])('treats a response with %s as KeyServiceUnavailableError', async (_, response) => {
    // Prepare
    kms.on(GenerateDataKeyCommand).resolves(response);
    // Act
    const result = master().generateKek(context);
    // Assess
    await expect(result).rejects.toBeInstanceOf(KeyServiceUnavailableError);
  });

  it('rejects an invalid context with RangeError without calling KMS', async () => {
    // Act
    const result = master().generateKek({ tenant: 'acme', kekVersion: 1.5 });
    // Assess
    await expect(result).rejects.toBeInstanceOf(RangeError);
    expect(kms.calls()).toHaveLength(0);
  });
});

describe('KmsMasterKey.unwrapKek', () => {
  it('sends Decrypt with the blob, the pinned key id and the same encryption context', async () => {
    // Prepare
    kms.on(DecryptCommand).resolves({ KeyId: KEY_ARN, Plaintext: bytes(32, 5) });
    const wrapped = bytes(150, 9);
    // Act
    const kek = await master().unwrapKek(wrapped, context);
    // Assess
    expect(kms.commandCalls(DecryptCommand)[0]!.args[0].input).toEqual({
      CiphertextBlob: wrapped, KeyId: KEY_ARN, EncryptionContext: encryptionContext,
    });
    expect(kek).toEqual(bytes(32, 5));
  });

  it('refuses a blob that decrypts to something other than a 32-byte key', async () => {
    // Prepare
    kms.on(DecryptCommand).resolves({ KeyId: KEY_ARN, Plaintext: bytes(31, 5) });
    // Act
    const result = master().unwrapKek(bytes(150, 9), context);
    // Assess
    await expect(result).rejects.toBeInstanceOf(KeyUnavailableError);
  });

  it('refuses an empty or oversized blob without calling KMS', async () => {
    // Act
    const empty = master().unwrapKek(new Uint8Array(0), context);
    const huge = master().unwrapKek(new Uint8Array(6145), context);
    // Assess
    await expect(empty).rejects.toBeInstanceOf(KeyUnavailableError);
    await expect(huge).rejects.toBeInstanceOf(KeyUnavailableError);
    expect(kms.calls()).toHaveLength(0);
  });
});

describe('KMS error mapping', () => {
  it.each([
    ['InvalidCiphertextException', modelled(InvalidCiphertextException), KeyUnavailableError],
    ['IncorrectKeyException', modelled(IncorrectKeyException), KeyUnavailableError],
    ['DisabledException', modelled(DisabledException), KeyUnavailableError],
    ['KMSInvalidStateException', modelled(KMSInvalidStateException), KeyUnavailableError],
    ['NotFoundException', modelled(NotFoundException), KeyUnavailableError],
    ['AccessDeniedException', awsError('AccessDeniedException'), KeyUnavailableError],
    ['ThrottlingException', awsError('ThrottlingException'), KeyServiceUnavailableError],
    ['KMSInternalException', modelled(KMSInternalException), KeyServiceUnavailableError],
    ['KeyUnavailableException', modelled(KeyUnavailableException), KeyServiceUnavailableError],
    ['DependencyTimeoutException', modelled(DependencyTimeoutException), KeyServiceUnavailableError],
    ['CustomKeyStoreInvalidStateException', modelled(CustomKeyStoreInvalidStateException), KeyServiceUnavailableError],
    ['a network reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), KeyServiceUnavailableError],
    ['a timeout', awsError('TimeoutError', 'server'), KeyServiceUnavailableError],
  ])('maps %s from Decrypt and GenerateDataKey, keeping the cause', async (name, error, Expected) => {
    // Prepare
    kms.on(DecryptCommand).rejects(error).on(GenerateDataKeyCommand).rejects(error);
    // Act
    const results = await Promise.allSettled([master().unwrapKek(bytes(150, 9), context), master().generateKek(context)]);
    // Assess
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(Expected);
      expect(reason.cause).toBe(error);
      expect(reason.message).toContain('tenant acme KEK v3');
      expect(reason.message).toContain(KEY_ARN);
      expect(reason.message).toContain(error.name);
    }
  });

  it('names a Node error code next to the error name', () => {
    // Prepare
    const error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    // Act
    const mapped = mapKmsError(error, 'KMS Decrypt');
    // Assess
    expect(mapped).toBeInstanceOf(KeyServiceUnavailableError);
    expect(mapped.message).toBe("KMS Decrypt failed after the client's retries: Error (ECONNREFUSED)");
  });
});
